#!/usr/bin/env bash
# Every test and check of the project; CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== yamllint"
yamllint .
echo "== ansible-lint (production profile)"
ANSIBLE_COLLECTIONS_PATH="$PWD/.collections" ansible-lint --offline
echo "== ansible-test sanity"
bash scripts/sanity.sh
echo "== pytest: unit, test API server, integration (against the installed collection)"
MESHOPS_COLLECTIONS_PATH="$PWD/.collections" pytest tests -p no:cacheprovider -q -n 2 "$@"
