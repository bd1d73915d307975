package traffic

// The world around the rendered objects: the egress gateway's Service, pod
// and endpoints as the egress_gateway role installs them, the mesh config,
// and the two proxies whose Envoy config is generated.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pkg/config/mesh"
	"sigs.k8s.io/yaml"
)

const (
	// The gateway pod's IP and the calling application pod's IP (any
	// cluster-internal addresses the external hosts do not use).
	gatewayPodIP = "10.244.0.50"
	clientPodIP  = "10.244.1.20"
	gatewayVIP   = "10.96.0.50"
)

// IstioKinds are the kinds Istio reads; other rendered objects (NetworkPolicy)
// are not part of the data plane's config.
var IstioKinds = map[string]bool{
	"ServiceEntry": true, "Gateway": true, "DestinationRule": true, "VirtualService": true,
	"AuthorizationPolicy": true, "Sidecar": true, "PeerAuthentication": true, "WorkloadEntry": true,
}

// LoadObjects reads one cluster's render directory (one YAML file per
// object; the outbound_policy role's Sidecars, if any, in its outbound_policy
// subdirectory) and returns the Istio objects as one multi-document string,
// plus the count of each kind it left out.
func LoadObjects(dir string) (string, map[string]int, error) {
	var paths []string
	for _, pattern := range []string{"*.yaml", "*.yml", "outbound_policy/*.yaml"} {
		found, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return "", nil, err
		}
		paths = append(paths, found...)
	}
	sort.Strings(paths)
	var docs []string
	skipped := map[string]int{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", nil, err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				return "", nil, fmt.Errorf("%s: %v", path, err)
			}
			if meta.Kind == "" {
				continue
			}
			if !IstioKinds[meta.Kind] {
				skipped[meta.Kind]++
				continue
			}
			docs = append(docs, strings.TrimSpace(doc))
		}
	}
	if len(docs) == 0 {
		return "", skipped, fmt.Errorf("%s: no Istio objects (*.yaml) found", dir)
	}
	return strings.Join(docs, "\n---\n") + "\n", skipped, nil
}

// GatewayServicePort is one port of the egress gateway Service.
type GatewayServicePort struct {
	Name       string
	Port       int
	TargetPort int
}

// GatewayServicePorts are the ports the egress_gateway role gives the
// gateway Service: http2 80 and https 443 (the istio/gateway chart's), plus
// each port a host routes through the gateway, named after its protocol as
// seen by the gateway (HTTPS passes through as TLS), which is how Istio
// picks a Service port's protocol.
func GatewayServicePorts(hosts []Host, s Settings) []GatewayServicePort {
	names := map[int]string{80: "http2", 443: "https"}
	for _, h := range hosts {
		if !h.ViaGateway {
			continue
		}
		for _, p := range h.Ports {
			if _, ok := names[p.Number]; ok {
				continue
			}
			proto := p.Protocol
			if proto == "HTTPS" {
				proto = "TLS"
			}
			names[p.Number] = fmt.Sprintf("%s-%d", strings.ToLower(proto), p.Number)
		}
	}
	out := make([]GatewayServicePort, 0, len(names))
	for port, name := range names {
		out = append(out, GatewayServicePort{Name: name, Port: port, TargetPort: s.TargetPort(port)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// KubernetesObjects is the gateway's Service, its one pod and the Service's
// EndpointSlice. The pod carries no security.istio.io/tlsMode label, as
// Istio's gateway injection template sets none.
func KubernetesObjects(hosts []Host, s Settings) string {
	var b strings.Builder
	ports := GatewayServicePorts(hosts, s)
	labels := func(indent string) string {
		var l strings.Builder
		for _, k := range sortedKeys(s.GatewayLabels) {
			fmt.Fprintf(&l, "%s%s: %q\n", indent, k, s.GatewayLabels[k])
		}
		return l.String()
	}
	fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  labels:
%sspec:
  type: ClusterIP
  clusterIP: %s
  selector:
%s  ports:
`, s.GatewayService, s.GatewayNamespace, labels("    "), gatewayVIP, labels("    "))
	for _, p := range ports {
		fmt.Fprintf(&b, "  - name: %s\n    port: %d\n    targetPort: %d\n    protocol: TCP\n", p.Name, p.Port, p.TargetPort)
	}
	pod := s.GatewayService + "-0"
	fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels:
%sspec:
  serviceAccountName: %s
  containers:
  - name: istio-proxy
    image: auto
status:
  phase: Running
  podIP: %s
  podIPs:
  - ip: %s
  conditions:
  - type: Ready
    status: "True"
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-meshops
  namespace: %s
  labels:
    kubernetes.io/service-name: %s
addressType: IPv4
endpoints:
- addresses:
  - %s
  conditions:
    ready: true
  targetRef:
    kind: Pod
    name: %s
    namespace: %s
ports:
`, pod, s.GatewayNamespace, labels("    "), s.GatewayService, gatewayPodIP, gatewayPodIP,
		s.GatewayService, s.GatewayNamespace, s.GatewayService, gatewayPodIP, pod, s.GatewayNamespace)
	for _, p := range ports {
		fmt.Fprintf(&b, "- name: %s\n  port: %d\n  protocol: TCP\n", p.Name, p.TargetPort)
	}
	return b.String()
}

// MeshConfig is Istio's default mesh config with the outbound traffic
// policy and trust domain of the settings.
func MeshConfig(s Settings) (*meshconfig.MeshConfig, error) {
	m := mesh.DefaultMeshConfig()
	mode, ok := meshconfig.MeshConfig_OutboundTrafficPolicy_Mode_value[s.MeshMode]
	if !ok || (s.MeshMode != "REGISTRY_ONLY" && s.MeshMode != "ALLOW_ANY") {
		return nil, fmt.Errorf("--mesh-mode: expected REGISTRY_ONLY or ALLOW_ANY, got %q", s.MeshMode)
	}
	m.OutboundTrafficPolicy = &meshconfig.MeshConfig_OutboundTrafficPolicy{
		Mode: meshconfig.MeshConfig_OutboundTrafficPolicy_Mode(mode),
	}
	m.TrustDomain = s.TrustDomain
	return m, nil
}

// SidecarProxy is an application pod's sidecar in the client namespace.
func SidecarProxy(s Settings) *model.Proxy {
	labels := map[string]string{"app": "meshops-traffic-client"}
	return &model.Proxy{
		Type:            model.SidecarProxy,
		ID:              "meshops-traffic-client." + s.ClientNamespace,
		ConfigNamespace: s.ClientNamespace,
		IPAddresses:     []string{clientPodIP},
		Labels:          labels,
		Metadata:        &model.NodeMetadata{Namespace: s.ClientNamespace, Labels: labels},
	}
}

// GatewayProxy is the egress gateway pod: a Router with the gateway's labels,
// the pod behind the gateway Service.
func GatewayProxy(s Settings) *model.Proxy {
	return &model.Proxy{
		Type:            model.Router,
		ID:              s.GatewayService + "-0." + s.GatewayNamespace,
		ConfigNamespace: s.GatewayNamespace,
		IPAddresses:     []string{gatewayPodIP},
		Labels:          s.GatewayLabels,
		Metadata:        &model.NodeMetadata{Namespace: s.GatewayNamespace, Labels: s.GatewayLabels},
	}
}
