package traffic

// The intent: an external_services_hosts list, normalised with the
// collection's documented defaults (plugins/module_utils/hosts.py,
// docs/egress-variants.md). This is an independent reading of those
// defaults, not a call into the collection: the expectations of the check
// must not come from the code whose output it checks.

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Port is one declared port of a host.
type Port struct {
	Number   int
	Protocol string // HTTP, HTTPS, TLS, TCP, GRPC, HTTP2
}

// Sources is allowed_sources: who may use a host through the gateway.
type Sources struct {
	Namespaces      []string
	ServiceAccounts []string // namespace/name
}

// Host is one normalised item of external_services_hosts.
type Host struct {
	Host            string
	Ports           []Port
	ViaGateway      bool
	Resolution      string
	TLSOrigination  bool
	OriginationPort int
	CredentialName  string
	ServedBy        string
	Addresses       []string
	Endpoints       []string
	AllowedSources  *Sources
}

// Wildcard reports a "*.domain" host.
func (h Host) Wildcard() bool { return strings.HasPrefix(h.Host, "*.") }

// defaults of one item, as docs/egress-variants.md and hosts.py state them.
const (
	defaultPortNumber      = 80
	defaultPortProtocol    = "HTTP"
	defaultOriginationPort = 443
)

var protocols = map[string]bool{"HTTP": true, "HTTPS": true, "TLS": true, "TCP": true, "GRPC": true, "HTTP2": true}

// LoadHosts reads a YAML file holding either a bare list of host items or a
// mapping with the key external_services_hosts (a group_vars file).
func LoadHosts(path string) ([]Host, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if m, ok := doc.(map[string]any); ok {
		list, found := m["external_services_hosts"]
		if !found {
			return nil, fmt.Errorf("%s: a mapping without the key external_services_hosts", path)
		}
		doc = list
	}
	items, ok := doc.([]any)
	if !ok && doc != nil {
		return nil, fmt.Errorf("%s: expected a list of host items, got %T", path, doc)
	}
	hosts := make([]Host, 0, len(items))
	for i, raw := range items {
		item, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: item %d: expected a mapping, got %T", path, i, raw)
		}
		h, err := normalise(item)
		if err != nil {
			return nil, fmt.Errorf("%s: item %d (%v): %v", path, i, item["host"], err)
		}
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Host < hosts[j].Host })
	return hosts, nil
}

func normalise(item map[string]any) (Host, error) {
	name, _ := item["host"].(string)
	if name == "" {
		return Host{}, fmt.Errorf("host: required")
	}
	h := Host{Host: strings.ToLower(strings.TrimSpace(name)), ViaGateway: true}
	var err error
	if h.Ports, err = ports(item["ports"]); err != nil {
		return h, err
	}
	if h.ViaGateway, err = boolValue(item["via_gateway"], true); err != nil {
		return h, fmt.Errorf("via_gateway: %v", err)
	}
	if h.TLSOrigination, err = boolValue(item["tls_origination"], false); err != nil {
		return h, fmt.Errorf("tls_origination: %v", err)
	}
	if s, ok := item["served_by"].(string); ok {
		h.ServedBy = strings.ToLower(strings.TrimSpace(s))
	}
	h.Resolution = "DNS"
	if h.ServedBy != "" {
		// Istio's single-server form: the wildcard's own entry only names hosts.
		h.Resolution = "NONE"
	}
	if r, ok := item["resolution"].(string); ok && r != "" {
		h.Resolution = strings.ToUpper(strings.TrimSpace(r))
	}
	if h.TLSOrigination {
		h.OriginationPort = defaultOriginationPort
		if v, found := item["origination_port"]; found && v != nil {
			if h.OriginationPort, err = number(v); err != nil {
				return h, fmt.Errorf("origination_port: %v", err)
			}
		}
	}
	if s, ok := item["credential_name"].(string); ok {
		h.CredentialName = s
	}
	h.Addresses = strings1(item["addresses"])
	if eps, ok := item["endpoints"].([]any); ok {
		for _, e := range eps {
			if m, ok := e.(map[string]any); ok {
				if a, ok := m["address"].(string); ok {
					h.Endpoints = append(h.Endpoints, a)
				}
			}
		}
	}
	if src, ok := item["allowed_sources"].(map[string]any); ok {
		h.AllowedSources = &Sources{Namespaces: strings1(src["namespaces"]), ServiceAccounts: strings1(src["service_accounts"])}
	}
	return h, nil
}

func ports(raw any) ([]Port, error) {
	if raw == nil {
		return []Port{{Number: defaultPortNumber, Protocol: defaultPortProtocol}}, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("ports: expected a non-empty list")
	}
	out := make([]Port, 0, len(list))
	for i, p := range list {
		m, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("ports[%d]: expected a mapping", i)
		}
		n, err := number(m["number"])
		if err != nil {
			return nil, fmt.Errorf("ports[%d].number: %v", i, err)
		}
		proto, _ := m["protocol"].(string)
		proto = strings.ToUpper(strings.TrimSpace(proto))
		if !protocols[proto] {
			return nil, fmt.Errorf("ports[%d].protocol: %q is not one of HTTP, HTTPS, TLS, TCP, GRPC, HTTP2", i, m["protocol"])
		}
		out = append(out, Port{Number: n, Protocol: proto})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// number accepts what inventories and AWX surveys give: 443 or "443".
func number(v any) (int, error) {
	switch n := v.(type) {
	case float64:
		return int(n), nil
	case int:
		return n, nil
	case string:
		return strconv.Atoi(strings.TrimSpace(n))
	}
	return 0, fmt.Errorf("expected a port number, got %v", v)
}

func boolValue(v any, def bool) (bool, error) {
	switch b := v.(type) {
	case nil:
		return def, nil
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true", "yes":
			return true, nil
		case "false", "no":
			return false, nil
		}
	}
	return def, fmt.Errorf("expected true or false, got %v", v)
}

func strings1(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, s := range list {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}
