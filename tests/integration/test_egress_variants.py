"""Every egress variant (docs/egress-variants.md) through playbooks/site.yml against the test
control plane: converge, rerun without writes, prune a removed variant, and each
pitfall refused before any write. After each converge, Istio's own analyzers
(istioctl analyze, against the live API server) find nothing to say."""
import copy
from pathlib import Path

import pytest
import yaml

from helpers import istio_checks
from helpers.cluster import MESH_CONFIG, create_gateway_pod, install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook
from helpers.server_validation import rejections

ROOT = Path(__file__).resolve().parents[2]
SITE = "meshops.istio_egress.site"
CLUSTER = "cluster-a"
GATEWAY_FQDN = "istio-egressgateway.istio-system.svc.cluster.local"
MANAGED = "app.kubernetes.io/managed-by=meshops.istio_egress"
HTTP = {"number": 80, "protocol": "HTTP"}
TLS = {"number": 443, "protocol": "TLS"}
TCP = {"number": 5432, "protocol": "TCP"}

VARIANTS = [
    # HTTP through the gateway, sidecar -> gateway mutual TLS (the default)
    {"host": "httpbin.org", "ports": [HTTP]},
    # HTTP, and the client's own TLS passed through
    {"host": "edition.cnn.com", "ports": [HTTP, TLS]},
    # passthrough inside mutual TLS, so the gateway knows who may use it
    {"host": "api.github.com", "ports": [TLS], "allowed_sources": {"namespaces": ["ci"]}},
    # TLS origination at the gateway: SIMPLE, and MUTUAL with a client certificate
    {"host": "secure.example.com", "tls_origination": True},
    {"host": "partner.example.com", "tls_origination": True, "credential_name": "partner-client"},
    # TCP to a CIDR, restricted to one service account
    {"host": "db.partner.example", "ports": [TCP], "addresses": ["203.0.113.0/24"], "resolution": "STATIC",
     "endpoints": [{"address": "203.0.113.10"}], "allowed_sources": {"service_accounts": ["payments/checkout"]}},
    # wildcard through the gateway, Istio's single-server form
    {"host": "*.wikipedia.org", "served_by": "www.wikipedia.org", "ports": [TLS]},
    # wildcard, direct
    {"host": "*.direct.example.com", "via_gateway": False, "resolution": "NONE", "ports": [TLS]},
]
ENFORCED = ["payments", "shop"]
ISTIO_PLURALS = ("serviceentries", "gateways", "destinationrules", "virtualservices")
ORIGINATED = [item["host"] for item in VARIANTS if item.get("tls_origination")]
# The errors and warnings istioctl analyze may give after a converge here: code -> (which
# messages, why they are expected). docs/egress-variants.md ("What istioctl analyze says")
# lists the same.
EXPECTED_ANALYZE = {
    "IST0129": (
        lambda m: m["origin"].startswith("DestinationRule ") and any(
            m["message"].endswith("for host: %s at port number:80" % h) for h in ORIGINATED),
        "NoServerCertificateVerificationPortLevel on the TLS origination DestinationRules: they set no "
        "caCertificates, so the gateway verifies the host's certificate against the OS CA bundle (the "
        "DestinationRule API: 'If omitted, the proxy will verify the server's certificate using the OS CA "
        "certificates'; istiod renders the path 'system'), or, with credential_name, against the CA in that "
        "Secret. The analyzer predates that default and only accepts caCertificates, or credentialName with a "
        "workloadSelector."),
}


@pytest.fixture
def cluster(apiserver):
    """Istio with the egress gateway, whose Service also carries the TCP port,
    a mesh already REGISTRY_ONLY (so the outbound_policy role writes nothing)
    and the application namespaces."""
    install_istio(apiserver)
    path = "/api/v1/namespaces/istio-system/configmaps/istio"
    config_map = apiserver.request("GET", path)
    config_map["data"]["mesh"] = MESH_CONFIG + "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
    apiserver.request("PUT", path, config_map)
    add_gateway_port(apiserver, {"name": "tcp-5432", "port": 5432, "targetPort": 5432})
    create_gateway_pod(apiserver)
    for namespace in ENFORCED + ["ci"]:
        apiserver.create_namespace(namespace)
    apiserver.reset_counts()
    return apiserver


def add_gateway_port(server, port):
    path = "/api/v1/namespaces/istio-system/services/istio-egressgateway"
    service = server.request("GET", path)
    service["spec"]["ports"].append(port)
    server.request("PUT", path, service)


def site(server, tmp_path, hosts, **host_vars):
    host_vars.setdefault("external_services_enforce_namespaces", ENFORCED)
    inventory = write_inventory(tmp_path, {CLUSTER: dict({"external_services_hosts": hosts}, **host_vars)})
    return run_playbook(SITE, inventory=inventory, kubeconfig=server.kubeconfig)


def owned(server, plural, namespace=None):
    return [o for o in server.objects(plural, namespace)
            if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "meshops.istio_egress"]


def manifest(obj):
    """An object as a user would write it, without what the server filled in."""
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "spec": obj["spec"],
            "metadata": dict((k, meta[k]) for k in ("name", "namespace", "labels", "annotations") if k in meta)}


PARENT = "meshops-egress-hosts-" + CLUSTER


def applyset_parent(server):
    return server.get("configmaps", "istio-system", PARENT)


def one(objects, **where):
    found = [o for o in objects if all(o["spec"].get(k) == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def writes(server):
    return [(r["verb"], r["plural"], r["namespace"], r["name"]) for r in server.requests
            if r["verb"] in ("create", "update", "patch", "delete") and not r["dry_run"] and r["status"] < 400]


def test_all_variants_converge_rerun_clean_and_prune(cluster, tmp_path):
    first = site(cluster, tmp_path, VARIANTS)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr
    assert {w[1] for w in writes(cluster)} == {"serviceentries", "gateways", "destinationrules", "virtualservices",
                                               "authorizationpolicies", "networkpolicies", "configmaps"}
    # The owner's objects are an ApplySet (KEP-3659): its parent records the kinds and namespaces.
    assert [w for w in writes(cluster) if w[1] == "configmaps"] == [("create", "configmaps", "istio-system", PARENT)]
    annotations = applyset_parent(cluster)["metadata"]["annotations"]
    assert annotations["applyset.kubernetes.io/contains-group-kinds"] == (
        "AuthorizationPolicy.security.istio.io,DestinationRule.networking.istio.io,Gateway.networking.istio.io,"
        "NetworkPolicy.networking.k8s.io,ServiceEntry.networking.istio.io")
    assert annotations["applyset.kubernetes.io/additional-namespaces"] == "payments,shop"
    part_of = applyset_parent(cluster)["metadata"]["labels"]["applyset.kubernetes.io/id"]
    assert all(o["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == part_of
               for plural in ("serviceentries", "gateways", "destinationrules", "authorizationpolicies")
               for o in owned(cluster, plural, "istio-system"))

    entries = owned(cluster, "serviceentries", "istio-system")
    assert sorted(h for e in entries for h in e["spec"]["hosts"]) == sorted(
        [item["host"] for item in VARIANTS] + ["www.wikipedia.org"])
    assert one(entries, hosts=["*.wikipedia.org"])["spec"]["resolution"] == "NONE"
    # Port 443 is reached through port 80's targetPort, so sidecars cannot reach it directly.
    assert one(entries, hosts=["secure.example.com"])["spec"]["ports"] == [
        {"number": 80, "name": "http-80", "protocol": "HTTP", "targetPort": 443}]
    assert one(entries, hosts=["db.partner.example"])["spec"]["addresses"] == ["203.0.113.0/24"]

    [gateway] = owned(cluster, "gateways", "istio-system")
    servers = {(s["port"]["number"], s["port"]["protocol"], s["tls"]["mode"]): s["hosts"]
               for s in gateway["spec"]["servers"] if len(s["hosts"]) > 1 or s["tls"]["mode"] != "ISTIO_MUTUAL"}
    assert servers == {
        (80, "HTTPS", "ISTIO_MUTUAL"): ["edition.cnn.com", "httpbin.org", "partner.example.com",
                                        "secure.example.com"],
        (443, "TLS", "PASSTHROUGH"): ["*.wikipedia.org", "edition.cnn.com"],
    }
    own_servers = {s["hosts"][0]: (s["port"]["number"], s["port"]["protocol"], s["tls"]["mode"])
                   for s in gateway["spec"]["servers"] if s["hosts"] in (["api.github.com"], ["db.partner.example"])}
    assert own_servers == {"api.github.com": (443, "TLS", "ISTIO_MUTUAL"),
                           "db.partner.example": (5432, "TLS", "ISTIO_MUTUAL")}

    rules = owned(cluster, "destinationrules", "istio-system")
    gateway_rule = one(rules, host=GATEWAY_FQDN)
    assert gateway_rule["spec"]["exportTo"] == ["*"]  # seen from the enforced namespaces
    snis = {s["trafficPolicy"]["portLevelSettings"][0]["tls"]["sni"]: s["name"]
            for s in gateway_rule["spec"]["subsets"] if "trafficPolicy" in s}
    assert sorted(snis) == ["api.github.com", "db.partner.example", "edition.cnn.com", "httpbin.org",
                            "partner.example.com", "secure.example.com"]
    assert one(rules, host="secure.example.com")["spec"]["trafficPolicy"]["portLevelSettings"] == [
        {"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "secure.example.com"}}]
    assert one(rules, host="partner.example.com")["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"] == {
        "mode": "MUTUAL", "credentialName": "partner-client", "sni": "partner.example.com"}

    services = {vs["spec"]["hosts"][0]: vs["spec"] for vs in cluster.objects("virtualservices", "istio-system")}
    assert sorted(services) == sorted(i["host"] for i in VARIANTS if i.get("via_gateway", True))
    [to_gateway, to_host] = services["secure.example.com"]["http"]
    assert to_gateway["route"][0]["destination"] == {"host": GATEWAY_FQDN, "subset": snis["secure.example.com"],
                                                     "port": {"number": 80}}
    assert to_host["match"][0]["port"] == 80
    assert to_host["route"][0]["destination"] == {"host": "secure.example.com", "port": {"number": 80}}  # -> 443
    assert [r["route"][0]["destination"]["host"] for r in services["*.wikipedia.org"]["tls"]] == [
        GATEWAY_FQDN, "www.wikipedia.org"]
    assert services["api.github.com"]["tls"][0]["match"][0]["sniHosts"] == ["api.github.com"]
    assert services["api.github.com"]["tcp"][0]["route"][0]["destination"] == {
        "host": "api.github.com", "port": {"number": 443}}

    policies = {p["metadata"]["name"]: p["spec"] for p in owned(cluster, "authorizationpolicies", "istio-system")}
    assert len(policies) == 3
    db = next(spec for spec in policies.values() if "when" in yaml.safe_dump(spec) and "principals" in
              yaml.safe_dump(spec))
    assert db["rules"] == [{
        "from": [{"source": {"principals": ["cluster.local/ns/payments/sa/checkout"]}}],
        # the gateway's pods' port: the egress_gateway role's facts gave the Service's targetPorts
        "to": [{"operation": {"ports": ["5432"]}}],
        "when": [{"key": "connection.sni", "values": ["db.partner.example"]}]}]
    open_rules = [spec for spec in policies.values() if "from" not in yaml.safe_dump(spec)]
    assert len(open_rules) == 1 and open_rules[0]["rules"][0]["to"][0]["operation"]["ports"] == ["8080"]

    network = {p["metadata"]["namespace"]: p["spec"] for p in owned(cluster, "networkpolicies")}
    assert sorted(network) == ENFORCED
    assert network["shop"]["policyTypes"] == ["Egress"]
    assert network["shop"]["egress"][1]["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}}]

    # Istio's schemas and CEL rules, the NetworkPolicy's built-in validation (the API server),
    # and the checks of Istio's admission webhook (istioctl validate).
    written = [o for plural in ISTIO_PLURALS + ("authorizationpolicies",) for o in owned(cluster, plural, "istio-system")]
    assert rejections(cluster, written + owned(cluster, "networkpolicies")) == []
    assert istio_checks.validate(manifest(o) for o in written) == []
    istio_checks.assert_analyze_clean(cluster, EXPECTED_ANALYZE)

    cluster.reset_counts()
    second = site(cluster, tmp_path, VARIANTS)
    assert second.rc == 0, second.stderr
    assert second.changed(CLUSTER) == 0
    assert writes(cluster) == []
    istio_checks.assert_analyze_clean(cluster, EXPECTED_ANALYZE)

    # Drop TLS origination (SIMPLE), the restricted TLS host and one enforced namespace.
    remaining = [i for i in VARIANTS if i["host"] not in ("secure.example.com", "api.github.com")]
    cluster.reset_counts()
    third = site(cluster, tmp_path, remaining, external_services_enforce_namespaces=["payments"])
    assert third.rc == 0, third.stdout[-4000:] + third.stderr
    deleted = {(w[1], w[2]) for w in writes(cluster) if w[0] == "delete"}
    assert deleted == {("serviceentries", "istio-system"), ("destinationrules", "istio-system"),
                       ("authorizationpolicies", "istio-system"), ("virtualservices", "istio-system"),
                       ("networkpolicies", "shop")}
    # The dropped namespace's NetworkPolicy was found where the parent recorded it: no LIST across namespaces.
    assert [r for r in cluster.requests if r["verb"] == "list" and not r["namespace"]] == []
    assert applyset_parent(cluster)["metadata"]["annotations"]["applyset.kubernetes.io/additional-namespaces"] == "payments"
    assert [p["metadata"]["namespace"] for p in owned(cluster, "networkpolicies")] == ["payments"]
    assert [r["spec"]["host"] for r in owned(cluster, "destinationrules", "istio-system")
            if r["spec"]["host"] != GATEWAY_FQDN] == ["partner.example.com"]
    hosts = sorted(h for e in owned(cluster, "serviceentries", "istio-system") for h in e["spec"]["hosts"])
    assert "secure.example.com" not in hosts and "api.github.com" not in hosts
    assert "api.github.com" not in [vs["spec"]["hosts"][0] for vs in cluster.objects("virtualservices")]
    assert len(owned(cluster, "authorizationpolicies", "istio-system")) == 2
    subsets = [s["name"] for s in one(owned(cluster, "destinationrules", "istio-system"),
                                      host=GATEWAY_FQDN)["spec"]["subsets"]]
    assert snis["secure.example.com"] not in subsets and snis["api.github.com"] not in subsets
    istio_checks.assert_analyze_clean(cluster, EXPECTED_ANALYZE)


def test_plain_mode_reproduces_istios_basic_task(cluster, tmp_path):
    hosts = [{"host": "httpbin.org"}, {"host": "edition.cnn.com", "ports": [HTTP, TLS]}]
    result = site(cluster, tmp_path, hosts, external_services_gateway_mtls=False,
                  external_services_enforce_namespaces=[])
    assert result.rc == 0, result.stdout[-4000:] + result.stderr
    [gateway] = owned(cluster, "gateways", "istio-system")
    assert [(s["port"]["number"], s["port"]["protocol"], s.get("tls")) for s in gateway["spec"]["servers"]] == [
        (80, "HTTP", None), (443, "TLS", {"mode": "PASSTHROUGH"})]
    [rule] = owned(cluster, "destinationrules", "istio-system")
    assert rule["spec"] == {"host": GATEWAY_FQDN, "subsets": [{"name": "meshops-egress"}]}
    assert owned(cluster, "authorizationpolicies") == [] and owned(cluster, "networkpolicies") == []
    istio_checks.assert_analyze_clean(cluster, EXPECTED_ANALYZE)


def _with(change):
    def build():
        hosts = copy.deepcopy(VARIANTS[:2])
        extra = change(hosts)
        return hosts, extra or {}
    return build


# (id, hosts and host vars, fragments of the refusal, whether the cluster was read first)
PITFALLS = [
    ("two-protocols-on-one-port", _with(lambda h: h.extend([
        {"host": "a.example.com", "ports": [{"number": 8080, "protocol": "HTTP"}]},
        {"host": "b.example.com", "ports": [{"number": 8080, "protocol": "TCP"}], "addresses": ["192.0.2.1"]}])),
     ["external_services_hosts[3] (host 'b.example.com'): ports: port 8080 is TCP here but HTTP"], False),
    ("resolution-none-through-gateway", _with(lambda h: h.append({"host": "a.example.com", "resolution": "NONE"})),
     ["external_services_hosts[2] (host 'a.example.com'): resolution:", "back to itself"], False),
    ("http-on-443", _with(lambda h: h.append({"host": "a.example.com", "ports": [{"number": 443, "protocol": "HTTP"}]})),
     ["external_services_hosts[2] (host 'a.example.com'): ports[0].protocol: HTTP on port 443"], False),
    ("tls-on-80", _with(lambda h: h.append({"host": "a.example.com", "ports": [{"number": 80, "protocol": "TLS"}]})),
     ["(host 'a.example.com'): ports[0].protocol: TLS on port 80"], False),
    ("wildcard-with-dns", _with(lambda h: h.append({"host": "*.example.com", "ports": [TLS]})),
     ["(host '*.example.com'): resolution: DNS cannot resolve a wildcard host"], False),
    ("wildcard-through-gateway-on-http", _with(lambda h: h.append(
        {"host": "*.example.com", "resolution": "DYNAMIC_DNS"})),
     ["(host '*.example.com'): ports: a wildcard goes through the egress gateway on TLS/HTTPS ports only"], False),
    ("dynamic-dns-with-addresses", _with(lambda h: h.append(
        {"host": "*.example.com", "resolution": "DYNAMIC_DNS", "ports": [TLS], "addresses": ["192.0.2.1"]})),
     ["(host '*.example.com'): addresses: not with DYNAMIC_DNS"], False),
    ("dynamic-dns-with-endpoints", _with(lambda h: h.append(
        {"host": "*.example.com", "resolution": "DYNAMIC_DNS", "ports": [TLS], "endpoints": [{"address": "192.0.2.1"}]})),
     ["(host '*.example.com'): endpoints: not with DYNAMIC_DNS"], False),
    ("origination-of-a-tls-port", _with(lambda h: h.append(
        {"host": "a.example.com", "tls_origination": True, "ports": [{"number": 8443, "protocol": "TLS"}]})),
     ["(host 'a.example.com'): ports: with tls_origination the app speaks plain HTTP"], False),
    ("allowed-sources-without-mtls", _with(lambda h: (h[0].update(allowed_sources={"namespaces": ["ci"]}),
                                                      {"external_services_gateway_mtls": False})[1]),
     ["external_services_hosts[0] (host 'httpbin.org'): allowed_sources: needs sidecar -> gateway mutual TLS"], False),
    ("default-deny-without-mtls", _with(lambda h: {"external_services_gateway_mtls": False,
                                                   "external_services_default_deny": True}),
     ["external_services_default_deny: needs sidecar -> gateway mutual TLS (external_services_gateway_mtls: true)"], False),
    ("enforcing-the-gateway-namespace", _with(lambda h: {"external_services_enforce_namespaces": ["istio-system"]}),
     ["enforce_namespaces[0]: 'istio-system' is the egress gateway's namespace"], False),
    ("port-missing-on-the-gateway-service", _with(lambda h: h.append(
        {"host": "cache.example.com", "ports": [{"number": 6379, "protocol": "TCP"}], "addresses": ["192.0.2.9"]})),
     ["the egress gateway Service does not expose port 6379, which host(s) 'cache.example.com' (TCP) need"], True),
    ("grpc-port-named-tcp-on-the-gateway-service", _with(lambda h: h.append(
        {"host": "grpc.example.com", "ports": [{"number": 5432, "protocol": "GRPC"}]})),
     ["the egress gateway Service declares port 5432 as 'tcp'", "'grpc.example.com'", "name the port 'grpc-5432'"],
     True),
]


@pytest.mark.parametrize("build,fragments,reads", [row[1:] for row in PITFALLS], ids=[row[0] for row in PITFALLS])
def test_pitfall_is_refused_before_any_write(cluster, tmp_path, build, fragments, reads):
    hosts, host_vars = build()
    result = site(cluster, tmp_path, hosts, **host_vars)
    assert result.rc != 0
    message = result.stdout.replace("\\n", "\n").replace('\\"', '"')
    for fragment in fragments:
        assert fragment in message, message[-3000:]
    assert "nothing was changed" in message.lower() or "cannot" in message
    assert writes(cluster) == []
    if not reads:
        # Validation: refused before anything reads the cluster either.
        assert cluster.requests == []
