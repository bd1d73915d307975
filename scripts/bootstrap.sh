#!/usr/bin/env bash
# Make a fresh machine ready: a virtualenv (.venv) with the collection's and
# the tests' Python dependencies, and the collection built and installed into
# .collections exactly as a user installs it from a tarball.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# Reinstall only when the requirement files changed.
stamp="$venv/.requirements.sha256"
wanted=$(cat requirements.txt requirements-test.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-test.txt
    echo "$wanted" > "$stamp"
fi

rm -rf build/dist
"$venv/bin/ansible-galaxy" collection build --force --output-path build/dist . > /dev/null
# kubernetes.core, the one dependency, comes bundled with the ansible package.
ANSIBLE_COLLECTIONS_PATH="$PWD/.collections" "$venv/bin/ansible-galaxy" collection install --force --no-deps --offline \
    -p .collections build/dist/meshops-istio_egress-*.tar.gz > /dev/null
echo "bootstrap: $("$venv/bin/ansible" --version | head -1), collection installed in .collections"
