#!/usr/bin/env bash
# The main job with no cluster: site.yml over inventories/example in render
# mode, one YAML file per object under render/<cluster>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
ANSIBLE_COLLECTIONS_PATH="$PWD/.collections" .venv/bin/ansible-playbook \
    -i inventories/example meshops.istio_egress.site "$@"
