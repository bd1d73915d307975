#!/usr/bin/env bash
# ansible-test sanity on the built collection, with no ignore file. ansible-test
# needs the tree at .../ansible_collections/<namespace>/<name>, with the
# collections it imports (kubernetes.core) beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.venv"
# Outside this git checkout: ansible-test would otherwise ask git for the
# file list and skip everything .gitignore hides.
work=$(mktemp -d "${TMPDIR:-/tmp}/meshops-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/ansible_collections"
tarball=$(ls "$PWD"/build/dist/meshops-istio_egress-*.tar.gz)
mkdir -p "$root/meshops/istio_egress" "$root/kubernetes"
tar -xzf "$tarball" -C "$root/meshops/istio_egress"
core=$("$venv/bin/python" -c 'import ansible_collections.kubernetes.core as c; print(list(c.__path__)[0])')
cp -r "$core" "$root/kubernetes/core"
# ansible-test bootstraps pip in its sanity virtualenvs with a get-pip.py it
# downloads from a host outside the package registries; seed its cache.
pip_version=$(grep -ho "pip='[0-9.]*'" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1 | tr -dc '0-9.')
cached="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cached")"
cp scripts/lib/get_pip_standin.py "$cached"
{
    echo "[global]"
    # One line per setting; the environment's value wins, as it does for pip.
    "$venv/bin/pip" config list 2>/dev/null | sed -E "s/^[^.]*\.([^=]+)=(.*)$/\1 = \2/" | tr -d "'" | awk -F' = ' '!seen[$1]++'
} > "$(dirname "$cached")/meshops-pip.conf"
cd "$root/meshops/istio_egress"
PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    --requirements --color no "$@"
