package traffic

// The calls the simulation matches, and how their outcome reads.

import (
	"fmt"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"istio.io/istio/pilot/pkg/simulation"
)

// capture records the filter chain a call matched.
func capture(chain **listener.FilterChain) []simulation.CustomFilterChainValidation {
	return []simulation.CustomFilterChainValidation{
		func(fc *listener.FilterChain) error { *chain = fc; return nil },
	}
}

// clientCall: what the application sends.
func clientCall(e Expect) simulation.Call {
	c := simulation.Call{Address: e.Address, Port: e.Port, CallMode: simulation.CallModeOutbound, HostHeader: e.Name}
	switch {
	case e.ClientTLS():
		// An https:// client: TLS with the host's SNI, HTTP/1.1 inside.
		c.Protocol, c.TLS, c.Sni = simulation.HTTP, simulation.TLS, e.Name
	case e.Protocol == "TCP":
		c.Protocol, c.HostHeader = simulation.TCP, ""
	case e.Protocol == "HTTP":
		c.Protocol = simulation.HTTP
	default: // HTTP2, GRPC
		c.Protocol = simulation.HTTP2
	}
	return c
}

// gatewayCall: the call as hop 1 delivers it to the gateway pod: inside the
// sidecar's mutual TLS (its SNI and ALPN) where the cluster originates it,
// else the application's own bytes; HTTP as the cluster speaks it upstream.
func gatewayCall(client simulation.Call, tls UpstreamTLS, http2 bool, port int) simulation.Call {
	c := simulation.Call{Address: gatewayPodIP, Port: port, CallMode: simulation.CallModeGateway,
		HostHeader: client.HostHeader, Protocol: client.Protocol, TLS: client.TLS, Sni: client.Sni}
	if client.TLS != simulation.TLS && client.Protocol != simulation.TCP {
		c.Protocol = simulation.HTTP
		if http2 {
			c.Protocol = simulation.HTTP2
		}
	}
	if tls.Mode == "ISTIO_MUTUAL" {
		c.TLS, c.Sni = simulation.MTLS, tls.SNI
		if len(tls.ALPN) > 0 {
			c.Alpn = tls.ALPN[0]
		}
		if client.TLS == simulation.TLS {
			// The application's TLS travels inside: the gateway sees bytes.
			c.Protocol = simulation.TCP
		}
	}
	return c
}

// describe: what a call matched, for the table and the failures.
func describe(res simulation.Result) string {
	switch {
	case res.Error != nil:
		where := ""
		if res.ListenerMatched != "" {
			where = " at listener " + res.ListenerMatched
			if res.FilterChainMatched != "" {
				where += " chain " + res.FilterChainMatched
			}
		}
		return fmt.Sprintf("error %q%s", res.Error, where)
	case res.ClusterMatched == "" && res.VirtualHostMatched != "":
		return fmt.Sprintf("virtual host %s (route %q, no cluster)", res.VirtualHostMatched, res.RouteMatched)
	case res.ClusterMatched == "":
		return fmt.Sprintf("no cluster (listener %s)", res.ListenerMatched)
	}
	return res.ClusterMatched
}

func bypassHint(res simulation.Result, s Settings) string {
	name := ParseCluster(res.ClusterMatched)
	if name.Host != "" && name.Host != s.GatewayFQDN() {
		return " (straight to the host, bypassing the egress gateway)"
	}
	if name.Host == s.GatewayFQDN() {
		return " (the egress gateway)"
	}
	return ""
}

func callText(c simulation.Call) string {
	parts := []string{string(c.Protocol)}
	switch c.TLS {
	case simulation.MTLS:
		parts = append(parts, "Istio mutual TLS sni="+c.Sni)
	case simulation.TLS:
		parts = append(parts, "TLS sni="+c.Sni)
	default:
		parts = append(parts, "plaintext")
	}
	if c.HostHeader != "" && c.Protocol != simulation.TCP {
		parts = append(parts, "Host "+c.HostHeader)
	}
	return strings.Join(parts, ", ")
}
