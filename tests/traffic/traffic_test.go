package traffic

// The traffic check: for one cluster's rendered objects, the Envoy config
// istiod generates for an application sidecar and for the egress gateway,
// and every declared host and port simulated through it. Run it with
// scripts/traffic-check.sh; docs/traffic-check.md says what it proves.

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	istiolog "istio.io/istio/pkg/log"
)

var (
	hostsFile        = flag.String("hosts", "", "external_services_hosts as YAML: a list, or a mapping with that key")
	objectsDir       = flag.String("objects", "", "one cluster's render directory (one YAML file per object)")
	meshMode         = flag.String("mesh-mode", "REGISTRY_ONLY", "outboundTrafficPolicy mode: REGISTRY_ONLY or ALLOW_ANY")
	gatewayNamespace = flag.String("gateway-namespace", "istio-system", "the egress gateway's namespace")
	gatewayService   = flag.String("gateway-service", "istio-egressgateway", "the egress gateway's Service")
	gatewayLabels    = flag.String("gateway-labels", "", "the gateway pods' labels k=v,k=v (default istio=egressgateway,app=<service>)")
	gatewayMTLS      = flag.String("gateway-mtls", "true", "external_services_gateway_mtls")
	defaultDeny      = flag.String("default-deny", "false", "external_services_default_deny")
	trustDomain      = flag.String("trust-domain", "cluster.local", "external_services_trust_domain")
	targetPorts      = flag.String("gateway-target-ports", "", "gateway Service port=pod port where they differ (istioctl: 80=8080,443=8443)")
	clientNamespace  = flag.String("client-namespace", "default", "the calling application's namespace")
	undeclaredHost   = flag.String("undeclared-host", "undeclared.example.com", "a host nobody declared")
	proxyVersion     = flag.String("proxy-version", "", "the proxies' Istio version (the script passes the pinned module's release)")
	dump             = flag.Bool("dump", false, "print the generated listeners, routes and clusters on failure")
)

func settings(t *testing.T) Settings {
	s := Settings{
		MeshMode: *meshMode, GatewayNamespace: *gatewayNamespace, GatewayService: *gatewayService,
		TrustDomain: *trustDomain, ClientNamespace: *clientNamespace, UndeclaredHost: *undeclaredHost,
	}
	var err error
	labels := *gatewayLabels
	if labels == "" {
		labels = "istio=egressgateway,app=" + s.GatewayService
	}
	if s.GatewayLabels, err = ParseLabels(labels); err != nil {
		t.Fatalf("--gateway-labels: %v", err)
	}
	if s.GatewayMTLS, err = ParseBool("--gateway-mtls", *gatewayMTLS); err != nil {
		t.Fatal(err)
	}
	if s.DefaultDeny, err = ParseBool("--default-deny", *defaultDeny); err != nil {
		t.Fatal(err)
	}
	if s.TargetPorts, err = ParseTargetPorts(*targetPorts); err != nil {
		t.Fatalf("--gateway-target-ports: %v", err)
	}
	return s
}

func quiet() {
	// istiod's own logging would bury the table.
	for _, scope := range istiolog.Scopes() {
		scope.SetOutputLevel(istiolog.NoneLevel)
	}
}

func TestTraffic(t *testing.T) {
	if *hostsFile == "" || *objectsDir == "" {
		t.Skip("needs -hosts and -objects (scripts/traffic-check.sh passes them)")
	}
	quiet()
	s := settings(t)
	hosts, err := LoadHosts(*hostsFile)
	if err != nil {
		t.Fatal(err)
	}
	objects, skipped, err := LoadObjects(*objectsDir)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := MeshConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		ConfigString:           objects,
		KubernetesObjectString: KubernetesObjects(hosts, s),
		MeshConfig:             mc,
	})
	sidecar, gateway := SidecarProxy(s), GatewayProxy(s)
	// Empty: Istio's test default.
	sidecar.Metadata.IstioVersion, gateway.Metadata.IstioVersion = *proxyVersion, *proxyVersion
	sidecar, gateway = server.SetupProxy(sidecar), server.SetupProxy(gateway)
	w := &World{
		Settings: s,
		Sidecar:  simulation.NewSimulation(t, server, sidecar),
		Gateway:  simulation.NewSimulation(t, server, gateway),
	}
	w.SidecarClusters = xdstest.ExtractClusters(w.Sidecar.Clusters)
	w.GatewayClusters = xdstest.ExtractClusters(w.Gateway.Clusters)
	w.SidecarEndpoints = server.Endpoints(sidecar)
	w.GatewayEndpoints = server.Endpoints(gateway)

	var rows []Row
	for _, e := range Expectations(hosts, s) {
		rows = append(rows, w.Check(e))
	}
	report := Report(rows, s, skipped)
	fmt.Fprint(os.Stdout, report)
	failed := 0
	for _, r := range rows {
		if !r.Passed() {
			failed++
		}
	}
	if failed > 0 {
		if *dump {
			t.Log(xdstest.MapKeys(w.SidecarClusters))
			t.Log(xdstest.MapKeys(w.GatewayClusters))
			t.Log(xdstest.DumpList(t, w.Sidecar.Listeners))
			t.Log(xdstest.DumpList(t, w.Gateway.Listeners))
			t.Log(xdstest.DumpList(t, w.Gateway.Routes))
			t.Log(xdstest.DumpList(t, w.Sidecar.Routes))
		}
		t.Errorf("%d of %d rows failed", failed, len(rows))
	}
}
