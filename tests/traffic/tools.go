//go:build tools

// Package traffic keeps istioctl's dependencies in go.mod and go.sum, so
// istioctl is built from exactly the Istio version the traffic check uses:
//
//	CGO_ENABLED=0 go build -o <cache>/istioctl istio.io/istio/istioctl/cmd/istioctl
package traffic

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
)
