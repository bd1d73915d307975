package traffic

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Settings are the collection's settings that change the traffic path, as
// the check's flags give them (defaults: the collection's defaults).
type Settings struct {
	MeshMode         string            // outbound_policy_mode: REGISTRY_ONLY or ALLOW_ANY
	GatewayNamespace string            // egress_gateway_namespace
	GatewayService   string            // egress_gateway_name
	GatewayLabels    map[string]string // the gateway pods' labels (egress_gateway_selector + app: <name>)
	GatewayMTLS      bool              // external_services_gateway_mtls
	DefaultDeny      bool              // external_services_default_deny
	TrustDomain      string            // external_services_trust_domain
	TargetPorts      map[int]int       // gateway Service port -> pod port; empty: the same (manifest, helm)
	ClientNamespace  string            // where the calling application's sidecar runs
	UndeclaredHost   string            // a host nobody declared
}

// GatewayFQDN is the gateway Service's name in the mesh.
func (s Settings) GatewayFQDN() string {
	return s.GatewayService + "." + s.GatewayNamespace + ".svc.cluster.local"
}

// TargetPort is the gateway pod port behind a gateway Service port.
func (s Settings) TargetPort(port int) int {
	if t, ok := s.TargetPorts[port]; ok {
		return t
	}
	return port
}

// ParseLabels reads "k=v,k=v".
func ParseLabels(text string) (map[string]string, error) {
	labels := map[string]string{}
	for _, pair := range strings.Split(text, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: expected key=value", pair)
		}
		labels[k] = v
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("no labels in %q", text)
	}
	return labels, nil
}

// ParseTargetPorts reads "80=8080,443=8443" (istioctl's gateways).
func ParseTargetPorts(text string) (map[int]int, error) {
	out := map[int]int{}
	for _, pair := range strings.Split(text, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		port, err1 := strconv.Atoi(k)
		target, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("target port %q: expected <service port>=<pod port>", pair)
		}
		out[port] = target
	}
	return out, nil
}

// ParseBool reads true/false (yes/no).
func ParseBool(name, text string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: expected true or false, got %q", name, text)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
