#!/usr/bin/env bash
# The traffic check (docs/traffic-check.md): Istio's own xDS generation and
# simulation prove that every declared host and port goes from an application
# sidecar through the egress gateway to the host, for one cluster's rendered
# objects. Exit 0 only when every row passes.
#
#   scripts/traffic-check.sh --hosts HOSTS.yaml --objects DIR [options]
#   scripts/traffic-check.sh --build-only      # build (or find) the cached test binary, print its path
#
# The Go test binary is built once per version of tests/traffic (go.mod,
# go.sum, the .go files) into a cache outside the checkout and reused.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: traffic-check.sh --hosts HOSTS.yaml --objects DIR [options]
  --hosts FILE                 external_services_hosts: a YAML list, or a mapping with that key
  --objects DIR                one cluster's render directory (istio_egress_render_dir/<cluster>)
  --mesh-mode MODE             REGISTRY_ONLY (default) or ALLOW_ANY (outbound_policy_mode)
  --gateway-namespace NS       egress_gateway_namespace (default istio-system)
  --gateway-service NAME       egress_gateway_name (default istio-egressgateway)
  --gateway-labels k=v,...     the gateway pods' labels (default istio=egressgateway,app=<service>)
  --gateway-target-ports LIST  Service port=pod port where they differ (istioctl's gateway: 80=8080,443=8443)
  --gateway-mtls true|false    external_services_gateway_mtls (default true)
  --default-deny true|false    external_services_default_deny (default false)
  --trust-domain DOMAIN        external_services_trust_domain (default cluster.local)
  --client-namespace NS        the calling application's namespace (default default)
  --undeclared-host NAME       the host no one declared (default undeclared.example.com)
  --dump                       on failure, also print the generated Envoy config
  --build-only                 only build (or find) the test binary and print its path
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
module="$root/tests/traffic"
args=()
build_only=false
while [ $# -gt 0 ]; do
    case "$1" in
        --hosts|--objects)
            [ $# -ge 2 ] || { usage >&2; exit 2; }
            # The test binary runs in its own directory: absolute paths.
            args+=("-${1#--}" "$(realpath -m -- "$2")"); shift 2 ;;
        --mesh-mode|--gateway-namespace|--gateway-service|--gateway-labels|--gateway-target-ports|\
        --gateway-mtls|--default-deny|--trust-domain|--client-namespace|--undeclared-host)
            [ $# -ge 2 ] || { usage >&2; exit 2; }
            args+=("-${1#--}" "$2"); shift 2 ;;
        --dump) args+=("-dump"); shift ;;
        --build-only) build_only=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "traffic-check: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

# One binary per source version (and Go version): a change to the check rebuilds it.
key=$( (go version; cd "$module" && cat go.mod go.sum $(ls ./*.go | sort)) | sha256sum | cut -c1-16)
cache="${MESHOPS_TRAFFIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshops-envtest}/traffic-$key"
binary="$cache/traffic.test"
if [ ! -x "$binary" ]; then
    mkdir -p "$cache"
    # Parallel callers (pytest -n 2) wait for one build instead of racing.
    exec 9>"$cache/.lock"
    flock 9
    if [ ! -x "$binary" ]; then
        echo "traffic-check: building the test binary into $cache (once per version of tests/traffic)" >&2
        start=$(date +%s)
        (cd "$module" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go test -c -o "$binary.tmp" .)
        # The proxies run the Istio release of the pinned module (its VERSION file: 1.31 -> 1.31.0).
        release=$(cd "$module" && cat "$(GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' istio.io/istio)/VERSION")
        echo "${release}.0" > "$cache/proxy-version"
        mv "$binary.tmp" "$binary"
        echo "traffic-check: built in $(( $(date +%s) - start ))s" >&2
        # Binaries of older versions of the check (about 200 MB each), unused for a day.
        find "$(dirname "$cache")" -maxdepth 1 -name 'traffic-*' ! -path "$cache" -mtime +0 -exec rm -rf {} + 2>/dev/null || true
    fi
    flock -u 9
fi
touch "$cache"
if $build_only; then
    echo "$binary"
    exit 0
fi
if [ ${#args[@]} -eq 0 ]; then
    usage >&2
    exit 2
fi
cd "$cache"
exec "$binary" -test.run '^TestTraffic$' -proxy-version "$(cat "$cache/proxy-version")" "${args[@]}"
