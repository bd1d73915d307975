#!/usr/bin/env bash
# Prints, as its last line, a directory holding executable kube-apiserver,
# etcd and istioctl: the real control plane and Istio's CLI the tests run.
#
# With KUBEBUILDER_ASSETS set (envtest's convention, e.g. setup-envtest's
# download) that directory is used; istioctl comes from it or from PATH.
# Otherwise the three are built from their Go modules, at the versions pinned
# in tests/envtest/versions.env, into a cache outside the checkout
# (MESHOPS_ENVTEST_CACHE, default ~/.cache/meshops-envtest), each keyed by
# what it is built from, so a fresh clone and CI reuse an earlier build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/envtest/versions.env
. "$root/tests/envtest/versions.env"
cache=${MESHOPS_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshops-envtest}
mkdir -p "$cache"
say() { echo "envtest-assets: $*" >&2; }
hash() { sha256sum | cut -c1-12; }

# One directory holding the three, as the tests expect.
link_assets() {  # kube-apiserver etcd istioctl
    local dir
    dir="$cache/assets-$(echo "$@" | hash)"
    mkdir -p "$dir"
    ln -sfn "$1" "$dir/kube-apiserver"
    ln -sfn "$2" "$dir/etcd"
    ln -sfn "$3" "$dir/istioctl"
    echo "$dir"
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
    for bin in kube-apiserver etcd; do
        [ -x "$KUBEBUILDER_ASSETS/$bin" ] || { say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $bin"; exit 1; }
    done
    if [ -x "$KUBEBUILDER_ASSETS/istioctl" ]; then
        echo "$KUBEBUILDER_ASSETS"
        exit 0
    fi
    istioctl=$(command -v istioctl) || { say "no istioctl in KUBEBUILDER_ASSETS or on PATH"; exit 1; }
    link_assets "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$istioctl"
    exit 0
fi

command -v go > /dev/null || { say "Go is needed to build the control plane (or set KUBEBUILDER_ASSETS)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
recipe=$(hash < "$0")
kube="$cache/kube-apiserver-$KUBERNETES_VERSION-$recipe/kube-apiserver"
etcd="$cache/etcd-$ETCD_VERSION-$recipe/etcd"
istioctl="$cache/istioctl-$(cat "$root/tests/traffic/go.mod" "$root/tests/traffic/go.sum" | hash)-$recipe/istioctl"

if [ ! -x "$kube" ] || [ ! -x "$etcd" ] || [ ! -x "$istioctl" ]; then
    # One build at a time (pytest workers, a second checkout, CI on this machine).
    exec 9> "$cache/.lock"
    flock 9
fi
ldflags="-s -w"

# Runs a build step with its output in a log, shown only when it fails.
step() {  # log, command...
    local log=$1
    shift
    if ! "$@" > "$log" 2>&1; then
        say "failed: $*"
        tail -40 "$log" >&2
        exit 1
    fi
}

# A consumer module: a main module of our own that requires the pinned version.
consumer() {  # dir, module name, package to keep
    rm -rf "$1" && mkdir -p "$1"
    (cd "$1" && go mod init "$2" > /dev/null 2>&1 && printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$3" > tools.go)
}

# What Kubernetes' release build stamps: clients read it from /version.
kube_version_flags() {
    local pkg=k8s.io/component-base/version minor=${KUBERNETES_VERSION#v1.}
    echo "-X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
}

if [ ! -x "$kube" ]; then
    say "building kube-apiserver $KUBERNETES_VERSION (cold: about 6 minutes here)"
    src="$cache/src/kubernetes-$KUBERNETES_VERSION"
    consumer "$src" envtest.local/kubernetes k8s.io/kubernetes/cmd/kube-apiserver
    # k8s.io/kubernetes replaces its staging modules with local paths; a
    # consumer must pin each to the matching v0.x release instead.
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    staging=${KUBERNETES_VERSION/v1./v0.}
    for module in $(sed -n '/^replace (/,/^)/p' "$gomod" | awk '/=>/ {print $1}'); do
        echo "replace $module => $module $staging" >> "$src/go.mod"
    done
    cd "$src"
    step "$src/get.log" go get "k8s.io/kubernetes@$KUBERNETES_VERSION"
    step "$src/tidy.log" go mod tidy
    mkdir -p "$(dirname "$kube")"
    step "$src/build.log" go build -trimpath -ldflags "$ldflags $(kube_version_flags)" -o "$kube.partial" \
        k8s.io/kubernetes/cmd/kube-apiserver
    mv "$kube.partial" "$kube"
fi

if [ ! -x "$etcd" ]; then
    say "building etcd $ETCD_VERSION (cold: about 1.5 minutes here)"
    src="$cache/src/etcd-$ETCD_VERSION"
    consumer "$src" envtest.local/etcd go.etcd.io/etcd/server/v3
    cd "$src"
    step "$src/get.log" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    step "$src/tidy.log" go mod tidy
    mkdir -p "$(dirname "$etcd")"
    step "$src/build.log" go build -trimpath -ldflags "$ldflags" -o "$etcd.partial" go.etcd.io/etcd/server/v3
    mv "$etcd.partial" "$etcd"
fi

if [ ! -x "$istioctl" ]; then
    # From the traffic check's module: the very Istio code that check runs.
    cd "$root/tests/traffic"
    pinned=$(go list -m -f '{{.Version}}' istio.io/istio)
    if [ "$pinned" != "$ISTIO_VERSION" ]; then
        say "tests/traffic/go.mod requires istio.io/istio $pinned, versions.env says $ISTIO_VERSION"
        exit 1
    fi
    say "building istioctl $ISTIO_VERSION (cold: about 10 minutes here)"
    mkdir -p "$(dirname "$istioctl")"
    step "$(dirname "$istioctl")/build.log" go build -trimpath -ldflags "$ldflags" -o "$istioctl.partial" \
        istio.io/istio/istioctl/cmd/istioctl
    mv "$istioctl.partial" "$istioctl"
fi

link_assets "$kube" "$etcd" "$istioctl"
