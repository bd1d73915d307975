package traffic

// Reading the generated Envoy config: a cluster's upstream TLS and HTTP
// version, and where its endpoints are.

import (
	"fmt"
	"sort"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlspb "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpopts "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// UpstreamTLS is the TLS a cluster originates.
type UpstreamTLS struct {
	Mode   string // NONE, ISTIO_MUTUAL, SIMPLE, MUTUAL
	SNI    string
	Secret string // the client certificate's SDS secret (MUTUAL)
	ALPN   []string
}

func (u UpstreamTLS) String() string {
	switch u.Mode {
	case "NONE":
		return "no TLS"
	case "MUTUAL":
		return fmt.Sprintf("MUTUAL sni=%s cert=%s", u.SNI, u.Secret)
	}
	return fmt.Sprintf("%s sni=%s", u.Mode, u.SNI)
}

// istioCertificate is the SDS secret of the proxy's own workload
// certificate, which Istio mutual TLS presents.
const istioCertificate = "default"

// ClusterTLS classifies the cluster's transport socket. Istio's automatic
// mutual TLS (transport socket matches) applies only to endpoints labelled
// tlsMode=istio, which gateway pods and external hosts are not: such a
// cluster sends no TLS of its own to them.
func ClusterTLS(c *cluster.Cluster) (UpstreamTLS, error) {
	ts := c.GetTransportSocket()
	if ts == nil {
		return UpstreamTLS{Mode: "NONE"}, nil
	}
	ctx := &tlspb.UpstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return UpstreamTLS{}, fmt.Errorf("cluster %s: transport socket %s: %v", c.GetName(), ts.GetName(), err)
	}
	u := UpstreamTLS{SNI: ctx.GetSni(), ALPN: ctx.GetCommonTlsContext().GetAlpnProtocols(), Mode: "SIMPLE"}
	certs := ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()
	if len(certs) > 0 {
		u.Secret = certs[0].GetName()
		u.Mode = "MUTUAL"
		if u.Secret == istioCertificate {
			u.Mode = "ISTIO_MUTUAL"
		}
	} else if len(ctx.GetCommonTlsContext().GetTlsCertificates()) > 0 {
		u.Mode = "MUTUAL"
	}
	return u, nil
}

// ClusterHTTP2 reports a cluster that speaks HTTP/2 upstream.
func ClusterHTTP2(c *cluster.Cluster) bool {
	raw, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		return false
	}
	opts := &httpopts.HttpProtocolOptions{}
	if err := raw.UnmarshalTo(opts); err != nil {
		return false
	}
	return opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}

// EndpointAddresses lists "ip:port" of a cluster's load assignment.
func EndpointAddresses(clas []*endpoint.ClusterLoadAssignment, name string) []string {
	var out []string
	for _, cla := range clas {
		if cla.GetClusterName() != name {
			continue
		}
		for _, locality := range cla.GetEndpoints() {
			for _, lb := range locality.GetLbEndpoints() {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				out = append(out, fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()))
			}
		}
	}
	sort.Strings(out)
	return out
}

// ClusterName splits outbound|port|subset|host.
type ClusterName struct {
	Direction, Port, Subset, Host string
}

// ParseCluster reads Istio's cluster name; other names (BlackHoleCluster,
// PassthroughCluster) come back with Host empty.
func ParseCluster(name string) ClusterName {
	parts := strings.Split(name, "|")
	if len(parts) != 4 {
		return ClusterName{}
	}
	return ClusterName{parts[0], parts[1], parts[2], parts[3]}
}

// FilterNames lists a filter chain's network filters and, for an HTTP
// connection manager, its HTTP filters.
func FilterNames(fc *listener.FilterChain) []string {
	var names []string
	for _, f := range fc.GetFilters() {
		names = append(names, f.GetName())
		if f.GetName() != "envoy.filters.network.http_connection_manager" {
			continue
		}
		manager := &hcm.HttpConnectionManager{}
		if err := f.GetTypedConfig().UnmarshalTo(manager); err == nil {
			for _, hf := range manager.GetHttpFilters() {
				names = append(names, hf.GetName())
			}
		}
	}
	return names
}
