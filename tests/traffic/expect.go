package traffic

// What each declared host and port must do, from the host list and the
// settings alone (docs/egress-variants.md states the rules).

import (
	"fmt"
	"net/netip"
	"strings"
)

// Expect is one row: one host and port, or an undeclared host's port.
type Expect struct {
	Host     string // as declared (a wildcard stays "*.domain")
	Name     string // the name the call uses (a wildcard gets a name of its domain)
	Port     int
	Protocol string // declared protocol
	Address  string // the destination IP the application connects to

	Undeclared bool // a host nobody declared: refused under REGISTRY_ONLY, passed under ALLOW_ANY
	Direct     bool // via_gateway: false
	// A port of a via-gateway host that is not declared for the application
	// (TLS origination's origination_port): the sidecar must not reach the
	// host on it directly, around the gateway.
	NoBypass bool

	// Sidecar -> gateway: the gateway Service port (the host's port), and
	// whether the sidecar wraps the call in Istio mutual TLS (SNI: the host).
	MTLS bool

	// Gateway -> host: the cluster of TargetHost:TargetPort, originating TLS
	// (SIMPLE, or MUTUAL with Credential) or not.
	TargetHost  string
	TargetPort  int
	Origination string
	Credential  string

	// Sources: principals (spiffe://...) that the gateway must let through,
	// and principals it must refuse; "" is a source without mutual TLS.
	// Declared is allowed_sources as the host list gives it.
	Allowed  []string
	Denied   []string
	Declared string
}

// Wildcard reports a "*.domain" row.
func (e Expect) Wildcard() bool { return strings.HasPrefix(e.Host, "*.") }

// HTTP reports an HTTP-family port (routed by Host header).
func (e Expect) HTTP() bool {
	return e.Protocol == "HTTP" || e.Protocol == "HTTP2" || e.Protocol == "GRPC"
}

// ClientTLS reports a port where the application itself speaks TLS.
func (e Expect) ClientTLS() bool { return e.Protocol == "TLS" || e.Protocol == "HTTPS" }

// Expectations lists one row per declared host and port, then the undeclared
// host on 80 (HTTP) and 443 (TLS).
func Expectations(hosts []Host, s Settings) []Expect {
	var rows []Expect
	for _, h := range hosts {
		for _, p := range h.Ports {
			rows = append(rows, expectation(h, p, s))
			if h.ServedBy != "" {
				// The served_by server is a name of the domain too.
				e := expectation(h, p, s)
				e.Name = h.ServedBy
				rows = append(rows, e)
			}
		}
		if h.ViaGateway && h.TLSOrigination {
			rows = append(rows, Expect{Host: h.Host, Name: h.Host, Port: h.OriginationPort, Protocol: "TLS",
				Address: address(h), NoBypass: true, TargetHost: h.Host, TargetPort: h.OriginationPort})
		}
	}
	name := undeclaredName(hosts, s.UndeclaredHost)
	for _, p := range []Port{{80, "HTTP"}, {443, "TLS"}} {
		rows = append(rows, Expect{Host: name, Name: name, Port: p.Number, Protocol: p.Protocol,
			Address: "198.51.100.99", Undeclared: true})
	}
	return rows
}

func expectation(h Host, p Port, s Settings) Expect {
	e := Expect{Host: h.Host, Name: h.Host, Port: p.Number, Protocol: p.Protocol, Address: address(h)}
	if h.Wildcard() {
		// Any name of the domain; the check uses one nobody else declares.
		e.Name = "meshops-probe" + strings.TrimPrefix(h.Host, "*")
	}
	if !h.ViaGateway {
		e.Direct = true
		e.TargetHost, e.TargetPort = h.Host, p.Number
		return e
	}
	// Mutual TLS to the gateway for HTTP and TCP; the client's own TLS passes
	// through, unless allowed_sources needs the source's identity.
	e.MTLS = s.GatewayMTLS && (!e.ClientTLS() || h.AllowedSources != nil)
	e.TargetHost, e.TargetPort = h.Host, p.Number
	if h.ServedBy != "" {
		e.TargetHost = h.ServedBy
	}
	if h.TLSOrigination {
		e.TargetPort = h.OriginationPort
		e.Origination = "SIMPLE"
		if h.CredentialName != "" {
			e.Origination, e.Credential = "MUTUAL", h.CredentialName
		}
	}
	e.Allowed, e.Denied = sources(h, e, s)
	if h.AllowedSources != nil {
		e.Declared = fmt.Sprintf("namespaces %v, service accounts %v", h.AllowedSources.Namespaces,
			h.AllowedSources.ServiceAccounts)
	}
	return e
}

// sources: who the gateway lets through for this host and port. Without
// mutual TLS the gateway knows no source: the call carries no principal.
func sources(h Host, e Expect, s Settings) (allowed, denied []string) {
	principal := func(ns, sa string) string {
		return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", s.TrustDomain, ns, sa)
	}
	stranger := principal("meshops-stranger", "default")
	if h.AllowedSources == nil {
		anyone := stranger
		if !e.MTLS {
			anyone = ""
		}
		if s.DefaultDeny {
			return nil, []string{anyone}
		}
		return []string{anyone}, nil
	}
	listed := map[string]bool{}
	for _, ns := range h.AllowedSources.Namespaces {
		listed[ns] = true
		allowed = append(allowed, principal(ns, "default"))
	}
	for _, account := range h.AllowedSources.ServiceAccounts {
		ns, sa, _ := strings.Cut(account, "/")
		allowed = append(allowed, principal(ns, sa))
		if !listed[ns] {
			// Another account of the same namespace is not listed.
			denied = append(denied, principal(ns, "meshops-stranger"))
		}
	}
	return allowed, append(denied, stranger, "")
}

// address: where the application connects: an address of the host when it
// lists some (TCP is routed by address), else any public one.
func address(h Host) string {
	for _, a := range append(append([]string{}, h.Endpoints...), h.Addresses...) {
		if ip, err := netip.ParseAddr(a); err == nil && covered(h.Addresses, ip) {
			return ip.String()
		}
	}
	for _, a := range h.Addresses {
		if prefix, err := netip.ParsePrefix(a); err == nil {
			return prefix.Masked().Addr().Next().String()
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			return ip.String()
		}
	}
	return "198.51.100.10"
}

func covered(addresses []string, ip netip.Addr) bool {
	if len(addresses) == 0 {
		return true
	}
	for _, a := range addresses {
		if prefix, err := netip.ParsePrefix(a); err == nil && prefix.Contains(ip) {
			return true
		}
		if other, err := netip.ParseAddr(a); err == nil && other == ip {
			return true
		}
	}
	return false
}

// undeclaredName: the wanted name unless a declared host (or wildcard)
// covers it.
func undeclaredName(hosts []Host, wanted string) string {
	for _, candidate := range []string{wanted, "undeclared.meshops-traffic-check.invalid"} {
		taken := false
		for _, h := range hosts {
			if h.Host == candidate || (h.Wildcard() && strings.HasSuffix(candidate, strings.TrimPrefix(h.Host, "*"))) {
				taken = true
			}
		}
		if !taken {
			return candidate
		}
	}
	return "undeclared.meshops-traffic-check.invalid"
}
