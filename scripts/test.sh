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
echo "== the control plane and istioctl (built from their Go modules, or reused from the cache)"
KUBEBUILDER_ASSETS=$(bash scripts/envtest-assets.sh | tail -1)
export KUBEBUILDER_ASSETS
echo "$KUBEBUILDER_ASSETS"
echo "== the traffic check's Go test binary (Istio's xDS generation and simulation), built or reused"
bash scripts/traffic-check.sh --build-only
echo "== pytest: unit, and integration against a real kube-apiserver (the installed collection)"
MESHOPS_COLLECTIONS_PATH="$PWD/.collections" pytest tests -p no:cacheprovider -q -n 2 "$@"
