package traffic

// One row: the call of an application through its sidecar (hop 1) and, for
// a host that goes through the egress gateway, the same call as the gateway
// receives it (hop 2), matched by Istio's simulation against the Envoy config
// istiod generates for each proxy.

import (
	"fmt"
	"slices"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"istio.io/istio/pilot/pkg/simulation"
)

// World is the generated config of the two proxies.
type World struct {
	Settings         Settings
	Sidecar, Gateway *simulation.Simulation
	SidecarClusters  map[string]*cluster.Cluster
	GatewayClusters  map[string]*cluster.Cluster
	SidecarEndpoints []*endpoint.ClusterLoadAssignment
	GatewayEndpoints []*endpoint.ClusterLoadAssignment
}

// Row is the outcome of one expectation.
type Row struct {
	Expect
	Hop1, Hop2 string
	Notes      []string
	Failures   []string
}

// Passed reports a row without failures.
func (r Row) Passed() bool { return len(r.Failures) == 0 }

func (r *Row) fail(hop, format string, args ...any) {
	name := ""
	if r.Name != r.Host {
		name = " (as " + r.Name + ")"
	}
	r.Failures = append(r.Failures, fmt.Sprintf("%s:%d%s %s: %s", r.Host, r.Port, name, hop, fmt.Sprintf(format, args...)))
}

const (
	hop1 = "hop 1 (sidecar -> egress gateway)"
	hop2 = "hop 2 (egress gateway -> host)"
	hopD = "hop 1 (sidecar -> host, direct)"
	hopU = "hop 1 (sidecar, undeclared host)"
	hopB = "hop 1 (sidecar, origination port)"
)

// Check runs one row.
func (w *World) Check(e Expect) Row {
	r := Row{Expect: e, Hop2: "-"}
	call := clientCall(e)
	var chain *listener.FilterChain
	call.CustomListenerValidations = capture(&chain)
	res := w.Sidecar.Run(call)
	call.CustomListenerValidations = nil
	r.Hop1 = describe(res)
	switch {
	case e.Undeclared:
		w.checkUndeclared(&r, res)
	case e.NoBypass:
		direct := fmt.Sprintf("outbound|%d||%s", e.Port, e.TargetHost)
		if res.ClusterMatched == direct {
			r.fail(hopB, "the application reaches the host on its origination port straight from the sidecar (%s), "+
				"around the egress gateway; expected it refused or sent to the gateway", direct)
		}
	case e.Direct:
		want := fmt.Sprintf("outbound|%d||%s", e.Port, e.TargetHost)
		if res.Error != nil || res.ClusterMatched != want {
			r.fail(hopD, "expected the host's own cluster %s, matched %s%s", want, r.Hop1, bypassHint(res, w.Settings))
			break
		}
		if problem := dynamicForwarding(w.SidecarClusters[want], chain); problem != "" {
			r.fail(hopD, "%s", problem)
		}
	default:
		w.checkGateway(&r, call, res)
	}
	return r
}

func (w *World) checkUndeclared(r *Row, res simulation.Result) {
	refused := res.Error == nil && (res.VirtualHostMatched == "block_all" || res.ClusterMatched == "BlackHoleCluster")
	passed := res.Error == nil && res.ClusterMatched == "PassthroughCluster"
	if w.Settings.MeshMode == "REGISTRY_ONLY" {
		if !refused {
			r.fail(hopU, "expected refused under REGISTRY_ONLY (the block_all virtual host for HTTP, BlackHoleCluster "+
				"for TLS/TCP), matched %s", r.Hop1)
			return
		}
		r.Notes = append(r.Notes, "refused")
		return
	}
	if !passed {
		r.fail(hopU, "expected PassthroughCluster under ALLOW_ANY, matched %s", r.Hop1)
		return
	}
	r.Notes = append(r.Notes, "passed through")
}

func (w *World) checkGateway(r *Row, call simulation.Call, res simulation.Result) {
	s := w.Settings
	fqdn := s.GatewayFQDN()
	wantGateway := fmt.Sprintf("outbound|%d|<subset>|%s", r.Port, fqdn)
	name := ParseCluster(res.ClusterMatched)
	if res.Error != nil || name.Host != fqdn || name.Port != fmt.Sprint(r.Port) {
		r.fail(hop1, "expected the egress gateway's cluster %s, matched %s%s", wantGateway, r.Hop1, bypassHint(res, s))
		return
	}
	if name.Subset == "" {
		r.fail(hop1, "expected a subset of the egress gateway's DestinationRule in %s, matched the cluster without "+
			"subset %s", wantGateway, res.ClusterMatched)
	}
	c, ok := w.SidecarClusters[res.ClusterMatched]
	if !ok {
		r.fail(hop1, "the route names %s, but no DestinationRule the sidecar sees defines subset %q of %s "+
			"(Envoy has no such cluster and answers 503)", res.ClusterMatched, name.Subset, fqdn)
		return
	}
	tls, err := ClusterTLS(c)
	if err != nil {
		r.fail(hop1, "%v", err)
		return
	}
	if r.MTLS && (tls.Mode != "ISTIO_MUTUAL" || tls.SNI != r.Host) {
		r.fail(hop1, "expected Istio mutual TLS to the gateway with SNI %s (external_services_gateway_mtls), "+
			"the cluster %s has %s", r.Host, res.ClusterMatched, tls)
	}
	if !r.MTLS && tls.Mode != "NONE" {
		r.fail(hop1, "expected the application's bytes passed on as they are (%s), the cluster %s originates %s",
			map[bool]string{true: "its own TLS", false: "no mutual TLS"}[r.ClientTLS()], res.ClusterMatched, tls)
	}
	if tls.Mode != "NONE" {
		r.Notes = append(r.Notes, "mesh "+tls.String())
	}
	target := fmt.Sprintf("%s:%d", gatewayPodIP, s.TargetPort(r.Port))
	endpoints := EndpointAddresses(w.SidecarEndpoints, res.ClusterMatched)
	if !slices.Contains(endpoints, target) {
		r.fail(hop1, "expected the cluster %s to reach the gateway pod at %s, its endpoints are %v",
			res.ClusterMatched, target, endpoints)
		return
	}
	w.checkHop2(r, gatewayCall(call, tls, ClusterHTTP2(c), s.TargetPort(r.Port)))
}

func (w *World) checkHop2(r *Row, call simulation.Call) {
	var chain *listener.FilterChain
	call.CustomListenerValidations = capture(&chain)
	res := w.Gateway.Run(call)
	r.Hop2 = describe(res)
	want := fmt.Sprintf("outbound|%d||%s", r.TargetPort, r.TargetHost)
	name := ParseCluster(res.ClusterMatched)
	if res.Error != nil || name.Host != r.TargetHost || name.Subset != "" {
		r.fail(hop2, "a call on gateway port %d (%s) expected %s, matched %s", call.Port, callText(call), want, r.Hop2)
		return
	}
	c, ok := w.GatewayClusters[res.ClusterMatched]
	if !ok {
		r.fail(hop2, "the gateway routes to %s, which is not among its clusters", res.ClusterMatched)
		return
	}
	// The host's port: the cluster's, or where its endpoints point (a
	// ServiceEntry port's targetPort or an endpoint's port).
	ports := w.endpointPorts(c)
	if name.Port != fmt.Sprint(r.TargetPort) && !allEqual(ports, fmt.Sprint(r.TargetPort)) {
		r.fail(hop2, "expected the host %s on port %d, the gateway's cluster %s reaches port(s) %v", r.TargetHost,
			r.TargetPort, res.ClusterMatched, ports)
		return
	}
	if name.Port != fmt.Sprint(r.TargetPort) {
		r.Hop2 += " -> port " + fmt.Sprint(r.TargetPort)
	}
	want = res.ClusterMatched
	tls, err := ClusterTLS(c)
	if err != nil {
		r.fail(hop2, "%v", err)
		return
	}
	switch r.Origination {
	case "":
		if tls.Mode != "NONE" {
			r.fail(hop2, "expected the gateway to forward without TLS of its own, the cluster %s originates %s", want, tls)
		}
	case "SIMPLE":
		if tls.Mode != "SIMPLE" || tls.SNI != r.Host {
			r.fail(hop2, "expected TLS origination SIMPLE with SNI %s, the cluster %s has %s", r.Host, want, tls)
		}
	case "MUTUAL":
		// Istio serves credentialName as the SDS secret kubernetes://<name>.
		if tls.Mode != "MUTUAL" || tls.SNI != r.Host || tls.Secret != "kubernetes://"+r.Credential {
			r.fail(hop2, "expected TLS origination MUTUAL with SNI %s and the client certificate of credential %s, "+
				"the cluster %s has %s", r.Host, r.Credential, want, tls)
		}
	}
	if r.Origination != "" {
		r.Notes = append(r.Notes, "origination "+tls.String())
	}
	if problem := dynamicForwarding(c, chain); problem != "" {
		r.fail(hop2, "%s", problem)
	}
	if chain != nil {
		w.checkSources(r, chain, call)
	}
}

// dynamicForwarding: a dynamic forward proxy cluster (DYNAMIC_DNS) connects
// to the name a filter on the chain resolved (the SNI, or the Host header);
// without that filter Envoy has nowhere to connect. "" when fine.
func dynamicForwarding(c *cluster.Cluster, chain *listener.FilterChain) string {
	if c.GetClusterType().GetName() != "envoy.clusters.dynamic_forward_proxy" || chain == nil {
		return ""
	}
	names := FilterNames(chain)
	for _, name := range names {
		// envoy.extensions.filters.network.sni_dynamic_forward_proxy, envoy.filters.http.dynamic_forward_proxy
		if strings.HasSuffix(name, "dynamic_forward_proxy") {
			return ""
		}
	}
	return fmt.Sprintf("the cluster %s is a dynamic forward proxy (DYNAMIC_DNS), but the matched filter chain has no "+
		"SNI or HTTP dynamic forward proxy filter to resolve the name (its filters: %s): Envoy cannot connect; this "+
		"Istio does not serve DYNAMIC_DNS here", c.GetName(), strings.Join(names, ", "))
}

// endpointPorts: the ports of a gateway cluster's endpoints, inline (DNS
// clusters) or from EDS.
func (w *World) endpointPorts(c *cluster.Cluster) []string {
	var ports []string
	for _, locality := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range locality.GetLbEndpoints() {
			ports = append(ports, fmt.Sprint(lb.GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()))
		}
	}
	if len(ports) == 0 {
		for _, address := range EndpointAddresses(w.GatewayEndpoints, c.GetName()) {
			ports = append(ports, address[strings.LastIndex(address, ":")+1:])
		}
	}
	return ports
}

func allEqual(values []string, want string) bool {
	for _, v := range values {
		if v != want {
			return false
		}
	}
	return len(values) > 0
}
