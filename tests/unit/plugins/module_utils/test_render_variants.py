"""render() for every egress variant (docs/egress-variants.md): the routing facts (which
gateway server, port, subset, TLS mode and SNI each leg takes) read from the
rendered objects, not snapshots; the policies; the checks before apply."""
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.meshops.istio_egress.plugins.module_utils import _naming as naming
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._preflight import (
    combination_errors, gateway_port_errors, needed_ports, rendered_ports,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import (
    render, resolve_settings, validate_settings,
)

FQDN = "istio-egressgateway.istio-system.svc.cluster.local"
TLS = {"number": 443, "protocol": "TLS"}
HTTP = {"number": 80, "protocol": "HTTP"}
VARIANTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [HTTP, TLS]},
    {"host": "api.github.com", "ports": [TLS], "allowed_sources": {"namespaces": ["ci"]}},
    {"host": "secure.example.com", "tls_origination": True},
    {"host": "mtls.example.com", "tls_origination": True, "origination_port": 8443, "credential_name": "mtls-client",
     "ports": [{"number": 8080, "protocol": "HTTP"}]},
    {"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}], "addresses": ["203.0.113.0/24"],
     "resolution": "STATIC", "endpoints": [{"address": "203.0.113.10"}],
     "allowed_sources": {"namespaces": ["payments"], "service_accounts": ["payments/checkout"]}},
    {"host": "grpc.example.com", "ports": [{"number": 8081, "protocol": "GRPC"}]},
    {"host": "*.wikipedia.org", "served_by": "www.wikipedia.org", "ports": [TLS]},
    {"host": "*.dyn.example.com", "resolution": "DYNAMIC_DNS", "ports": [TLS]},
    {"host": "*.direct.example.com", "via_gateway": False, "resolution": "NONE", "ports": [TLS]},
    {"host": "ldap.corp.example", "via_gateway": False, "resolution": "STATIC", "addresses": ["10.20.0.0/16"],
     "ports": [{"number": 636, "protocol": "TLS"}], "endpoints": [{"address": "10.20.0.5"}]},
]


def _render(items, **options):
    options.setdefault("owner", "prod-eu")
    return render(normalize_hosts(items), options)


def _kind(result, kind):
    return [o for o in result["objects"] if o["kind"] == kind]


def _gateway_rule(result):
    [rule] = [o for o in _kind(result, "DestinationRule") if o["spec"]["host"].startswith("istio-egressgateway.")]
    return rule


def _routes(vs):
    for kind in ("http", "tls", "tcp"):
        for route in vs.get(kind, []):
            yield kind, route


def _host_port(result, host, number):
    """Where the gateway's route to ``host:number`` lands: the ServiceEntry
    port's targetPort when it has one."""
    for entry in _kind(result, "ServiceEntry"):
        if host in entry["spec"]["hosts"]:
            for port in entry["spec"]["ports"]:
                if port["number"] == number:
                    return port.get("targetPort", number)
    return number


def routing_facts(result):
    """{(host, port): facts} of each via-gateway port, joined across the
    VirtualService routes, the Gateway servers and the gateway's subsets.
    Raises KeyError for a subset a route names that does not exist."""
    [gateway] = _kind(result, "Gateway")
    subsets = {s["name"]: s for s in _gateway_rule(result)["spec"]["subsets"]}
    facts = {}
    for vs in result["virtual_services"]:
        [host] = vs["hosts"]
        for kind, route in _routes(vs):
            [match], [target] = route["match"], route["route"]
            dest = target["destination"]
            fact = facts.setdefault((host, match["port"]), {})
            if match["gateways"] == ["mesh"]:
                assert dest["host"] == _gateway_rule(result)["spec"]["host"]
                levels = subsets[dest["subset"]].get("trafficPolicy", {}).get("portLevelSettings", [])
                tls = [p["tls"] for p in levels if p["port"]["number"] == dest["port"]["number"]]
                fact.update(mesh=kind, gateway_port=dest["port"]["number"],
                            tls=(tls[0]["mode"], tls[0]["sni"]) if tls else None,
                            sni_match=match.get("sniHosts"))
            else:
                assert match["gateways"] == [gateway["metadata"]["name"]]
                servers = [s for s in gateway["spec"]["servers"]
                           if s["port"]["number"] == match["port"] and host in s["hosts"]]
                assert len(servers) == 1, (host, match["port"], servers)
                [server] = servers
                fact.update(out=kind, target=(dest["host"], _host_port(result, dest["host"], dest["port"]["number"])),
                            server=(server["port"]["protocol"], server.get("tls", {}).get("mode")),
                            server_hosts=server["hosts"])
    return facts


# (host, port): mesh route kind, gateway port, sidecar -> gateway TLS, gateway server, gateway route kind, target
MTLS_FACTS = {
    ("httpbin.org", 80): ("http", 80, ("ISTIO_MUTUAL", "httpbin.org"), ("HTTPS", "ISTIO_MUTUAL"), "http",
                          ("httpbin.org", 80)),
    ("edition.cnn.com", 80): ("http", 80, ("ISTIO_MUTUAL", "edition.cnn.com"), ("HTTPS", "ISTIO_MUTUAL"), "http",
                              ("edition.cnn.com", 80)),
    ("edition.cnn.com", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("edition.cnn.com", 443)),
    ("api.github.com", 443): ("tls", 443, ("ISTIO_MUTUAL", "api.github.com"), ("TLS", "ISTIO_MUTUAL"), "tcp",
                              ("api.github.com", 443)),
    ("secure.example.com", 80): ("http", 80, ("ISTIO_MUTUAL", "secure.example.com"), ("HTTPS", "ISTIO_MUTUAL"),
                                 "http", ("secure.example.com", 443)),
    ("mtls.example.com", 8080): ("http", 8080, ("ISTIO_MUTUAL", "mtls.example.com"), ("HTTPS", "ISTIO_MUTUAL"),
                                 "http", ("mtls.example.com", 8443)),
    ("db.example.com", 5432): ("tcp", 5432, ("ISTIO_MUTUAL", "db.example.com"), ("TLS", "ISTIO_MUTUAL"), "tcp",
                               ("db.example.com", 5432)),
    ("grpc.example.com", 8081): ("http", 8081, ("ISTIO_MUTUAL", "grpc.example.com"), ("HTTPS", "ISTIO_MUTUAL"),
                                 "http", ("grpc.example.com", 8081)),
    ("*.wikipedia.org", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("www.wikipedia.org", 443)),
    ("*.dyn.example.com", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("*.dyn.example.com", 443)),
}
PLAIN_FACTS = {
    ("httpbin.org", 80): ("http", 80, None, ("HTTP", None), "http", ("httpbin.org", 80)),
    ("edition.cnn.com", 80): ("http", 80, None, ("HTTP", None), "http", ("edition.cnn.com", 80)),
    ("edition.cnn.com", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("edition.cnn.com", 443)),
    ("api.github.com", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("api.github.com", 443)),
    ("secure.example.com", 80): ("http", 80, None, ("HTTP", None), "http", ("secure.example.com", 443)),
    ("mtls.example.com", 8080): ("http", 8080, None, ("HTTP", None), "http", ("mtls.example.com", 8443)),
    ("db.example.com", 5432): ("tcp", 5432, None, ("TCP", None), "tcp", ("db.example.com", 5432)),
    ("grpc.example.com", 8081): ("http", 8081, None, ("GRPC", None), "http", ("grpc.example.com", 8081)),
    ("*.wikipedia.org", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("www.wikipedia.org", 443)),
    ("*.dyn.example.com", 443): ("tls", 443, None, ("TLS", "PASSTHROUGH"), "tls", ("*.dyn.example.com", 443)),
}
# allowed_sources need mutual TLS: the plain form has none.
PLAIN_VARIANTS = [{k: v for k, v in item.items() if k != "allowed_sources"} for item in VARIANTS]
ROWS = [(True, key, value) for key, value in sorted(MTLS_FACTS.items())] + \
       [(False, key, value) for key, value in sorted(PLAIN_FACTS.items())]


@pytest.mark.parametrize("mtls,key,expected", ROWS, ids=["{0}-{1}:{2}".format("mtls" if r[0] else "plain", *r[1])
                                                         for r in ROWS])
def test_routing_facts(mtls, key, expected):
    result = _render(VARIANTS if mtls else PLAIN_VARIANTS, gateway_mtls=mtls)
    facts = routing_facts(result)
    fact = facts[key]
    assert (fact["mesh"], fact["gateway_port"], fact["tls"], fact["server"], fact["out"], fact["target"]) == expected
    host = key[0]
    # A leg matched on TLS names the host by SNI on the mesh side.
    assert fact["sni_match"] == ([host] if fact["mesh"] == "tls" else None)
    if fact["server"][1] == "ISTIO_MUTUAL" and fact["out"] == "tcp":
        # Terminated at the gateway and routed by port: the server must be the host's own.
        assert fact["server_hosts"] == [host]


@pytest.mark.parametrize("mtls", [True, False])
def test_every_via_gateway_port_has_facts_and_direct_hosts_none(mtls):
    items = VARIANTS if mtls else PLAIN_VARIANTS
    facts = routing_facts(_render(items, gateway_mtls=mtls))
    assert set(facts) == set(MTLS_FACTS if mtls else PLAIN_FACTS)
    assert all(len(f) == 8 for f in facts.values())  # both legs found


def test_mtls_http_hosts_share_one_https_server_per_port():
    [gateway] = _kind(_render(VARIANTS), "Gateway")
    https = [s for s in gateway["spec"]["servers"] if s["port"]["protocol"] == "HTTPS"]
    assert [(s["port"]["number"], s["port"]["name"], s["hosts"]) for s in https] == [
        (80, "https-80", ["edition.cnn.com", "httpbin.org", "secure.example.com"]),
        (8080, "https-8080", ["mtls.example.com"]),
        (8081, "https-8081", ["grpc.example.com"]),
    ]
    assert all(s["tls"] == {"mode": "ISTIO_MUTUAL"} for s in https)
    names = [s["port"]["name"] for s in gateway["spec"]["servers"]]
    assert len(names) == len(set(names))  # Istio wants port names unique within a Gateway


def test_mtls_subsets_carry_the_host_as_sni_on_their_ports_only():
    spec = _gateway_rule(_render(VARIANTS))["spec"]
    subsets = {s["name"]: s for s in spec["subsets"]}
    assert subsets.pop("meshops-egress") == {"name": "meshops-egress"}  # passthrough legs
    assert subsets[naming.subset_name("edition.cnn.com")]["trafficPolicy"] == {"portLevelSettings": [
        {"port": {"number": 80}, "tls": {"mode": "ISTIO_MUTUAL", "sni": "edition.cnn.com"}}]}
    assert set(subsets) == {naming.subset_name(h) for h in (
        "httpbin.org", "edition.cnn.com", "api.github.com", "secure.example.com", "mtls.example.com",
        "db.example.com", "grpc.example.com")}
    assert "exportTo" not in spec


def test_plain_form_is_istios_basic_task():
    result = _render(PLAIN_VARIANTS, gateway_mtls=False)
    assert _gateway_rule(result)["spec"] == {"host": FQDN, "subsets": [{"name": "meshops-egress"}]}
    assert "ISTIO_MUTUAL" not in yaml.safe_dump(result)


def test_no_shared_subset_when_every_leg_is_mutual_tls():
    spec = _gateway_rule(_render([{"host": "httpbin.org"}]))["spec"]
    assert [s["name"] for s in spec["subsets"]] == [naming.subset_name("httpbin.org")]


@pytest.mark.parametrize("item,tls", [
    ({"host": "secure.example.com", "tls_origination": True}, {"mode": "SIMPLE", "sni": "secure.example.com"}),
    ({"host": "mtls.example.com", "tls_origination": True, "credential_name": "mtls-client"},
     {"mode": "MUTUAL", "credentialName": "mtls-client", "sni": "mtls.example.com"}),
])
def test_tls_origination_destination_rule_and_service_entry(item, tls):
    result = _render([item])
    host = item["host"]
    [rule] = [o for o in _kind(result, "DestinationRule") if o["spec"]["host"] == host]
    assert rule["metadata"]["name"] == naming.host_destination_rule_name("prod-eu", host)
    # TLS from the gateway on the app's port 80, whose targetPort is the host's 443 (see test_render_origination).
    assert rule["spec"] == {"host": host, "exportTo": ["."], "trafficPolicy": {"portLevelSettings": [
        {"port": {"number": 80}, "tls": tls}]}}
    [entry] = _kind(result, "ServiceEntry")
    assert entry["spec"]["ports"] == [{"number": 80, "name": "http-80", "protocol": "HTTP", "targetPort": 443}]


def test_tls_origination_rule_is_exported_to_the_gateway_namespace_only():
    result = _render([{"host": "secure.example.com", "tls_origination": True}], namespace="egress",
                     gateway_namespace="gateways")
    [rule] = [o for o in _kind(result, "DestinationRule") if o["spec"]["host"] == "secure.example.com"]
    assert rule["spec"]["exportTo"] == ["gateways"]
    assert rule["metadata"]["namespace"] == "egress"


def test_served_by_renders_the_server_entry_once_for_all_its_wildcards():
    result = _render([
        {"host": "*.wikipedia.org", "served_by": "www.wikipedia.org", "ports": [TLS]},
        {"host": "*.wikimedia.org", "served_by": "www.wikipedia.org",
         "ports": [TLS, {"number": 8443, "protocol": "HTTPS"}]},
    ])
    entries = {o["spec"]["hosts"][0]: o["spec"] for o in _kind(result, "ServiceEntry")}
    assert entries["www.wikipedia.org"] == {
        "hosts": ["www.wikipedia.org"],
        "ports": [{"number": 443, "name": "tls-443", "protocol": "TLS"},
                  {"number": 8443, "name": "https-8443", "protocol": "HTTPS"}],
        "resolution": "DNS", "location": "MESH_EXTERNAL"}
    assert entries["*.wikipedia.org"]["resolution"] == "NONE"
    assert result["summary"]["hosts"] == 2 and result["summary"]["objects"]["ServiceEntry"] == 3


def test_gateway_ports_list_every_server_port_with_its_protocol():
    assert _render(VARIANTS)["gateway_ports"] == [
        {"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"},
        {"number": 5432, "protocol": "TCP"}, {"number": 8080, "protocol": "HTTP"},
        {"number": 8081, "protocol": "GRPC"}]
    assert _render([{"host": "a.example.com", "via_gateway": False}])["gateway_ports"] == []


# --- AuthorizationPolicy ---------------------------------------------------

def _policies(result):
    return {o["metadata"]["name"]: o for o in _kind(result, "AuthorizationPolicy")}


def test_allowed_sources_become_allow_policies_at_the_gateway():
    result = _render(VARIANTS)
    policies = _policies(result)
    db = policies[naming.authorization_policy_name("prod-eu", "db.example.com")]
    assert db["apiVersion"] == "security.istio.io/v1"
    assert db["metadata"]["namespace"] == "istio-system"
    assert db["spec"] == {
        "selector": {"matchLabels": {"istio": "egressgateway"}},
        "action": "ALLOW",
        "rules": [{
            # Two sources: OR'ed (fields inside one source would be AND'ed).
            "from": [{"source": {"namespaces": ["payments"]}},
                     {"source": {"principals": ["cluster.local/ns/payments/sa/checkout"]}}],
            "when": [{"key": "connection.sni", "values": ["db.example.com"]}],
        }]}
    github = policies[naming.authorization_policy_name("prod-eu", "api.github.com")]
    assert github["spec"]["rules"] == [{"from": [{"source": {"namespaces": ["ci"]}}],
                                        "when": [{"key": "connection.sni", "values": ["api.github.com"]}]}]


def test_http_hosts_are_matched_by_host_header_and_tls_by_sni():
    result = _render([{"host": "pay.example.com", "ports": [HTTP, TLS],
                       "allowed_sources": {"service_accounts": ["shop/cart"]}}], trust_domain="prod.example")
    [policy] = _kind(result, "AuthorizationPolicy")
    source = [{"source": {"principals": ["prod.example/ns/shop/sa/cart"]}}]
    assert policy["spec"]["rules"] == [
        {"from": source, "to": [{"operation": {"hosts": ["pay.example.com", "pay.example.com:*"]}}]},
        {"from": source, "when": [{"key": "connection.sni", "values": ["pay.example.com"]}]},
    ]
    # The TLS port travels inside mutual TLS, so the gateway knows the source.
    assert routing_facts(result)[("pay.example.com", 443)]["server"] == ("TLS", "ISTIO_MUTUAL")


def test_other_hosts_stay_open_once_one_host_is_restricted():
    policies = _policies(_render(VARIANTS))
    allow = policies[naming.allow_policy_name("prod-eu")]
    assert "from" not in yaml.safe_dump(allow["spec"])
    [http_rule, sni_rule] = allow["spec"]["rules"]
    assert http_rule["to"][0]["operation"]["hosts"] == [
        "edition.cnn.com", "edition.cnn.com:*", "grpc.example.com", "grpc.example.com:*", "httpbin.org",
        "httpbin.org:*", "mtls.example.com", "mtls.example.com:*", "secure.example.com", "secure.example.com:*"]
    assert sni_rule["when"] == [{"key": "connection.sni",
                                 "values": ["*.dyn.example.com", "*.wikipedia.org", "edition.cnn.com"]}]
    assert naming.deny_policy_name("prod-eu") not in policies


def test_no_policy_without_allowed_sources_or_default_deny():
    assert _kind(_render(PLAIN_VARIANTS), "AuthorizationPolicy") == []


def test_default_deny_is_an_allow_policy_without_rules():
    result = _render(VARIANTS, default_deny=True)
    policies = _policies(result)
    deny = policies.pop(naming.deny_policy_name("prod-eu"))
    assert deny["spec"] == {"selector": {"matchLabels": {"istio": "egressgateway"}}, "action": "ALLOW"}
    expected = {naming.authorization_policy_name("prod-eu", h) for h in ("api.github.com", "db.example.com")}
    assert set(policies) == expected
    assert any("'httpbin.org': no allowed_sources" in w for w in result["warnings"])
    only_deny = _kind(_render([{"host": "httpbin.org"}], default_deny=True), "AuthorizationPolicy")
    assert [p["metadata"]["name"] for p in only_deny] == [naming.deny_policy_name("prod-eu")]


@pytest.mark.parametrize("service_ports,ports", [
    (None, None),
    ([80, 443], ["443"]),
    ([{"name": "http2", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443, "targetPort": 8443}],
     ["8443"]),
    ([{"name": "https", "port": 443, "targetPort": "https"}], None),  # a named targetPort is not known here
])
def test_policy_ports_are_the_gateway_pods_ports_when_known(service_ports, ports):
    result = _render([{"host": "api.github.com", "ports": [TLS], "allowed_sources": {"namespaces": ["ci"]}}],
                     gateway_service_ports=service_ports)
    [rule] = _kind(result, "AuthorizationPolicy")[0]["spec"]["rules"]
    assert rule.get("to", [{}])[0].get("operation", {}).get("ports") == ports


def test_policies_follow_the_api_version_and_gateway_settings():
    result = _render(VARIANTS, api_version="networking.istio.io/v1beta1", gateway_namespace="egress-gw",
                     gateway_selector={"app": "gw"})
    for policy in _kind(result, "AuthorizationPolicy"):
        assert policy["apiVersion"] == "security.istio.io/v1beta1"
        assert policy["metadata"]["namespace"] == "egress-gw"
        assert policy["spec"]["selector"] == {"matchLabels": {"app": "gw"}}


# --- NetworkPolicy ---------------------------------------------------------

def test_enforced_namespaces_get_a_network_policy_and_see_the_gateway_rule():
    result = _render(VARIANTS, enforce_namespaces=["shop", "payments", "shop"], gateway_namespace="egress-gw",
                     namespace="egress-gw")
    policies = _kind(result, "NetworkPolicy")
    assert [p["metadata"]["namespace"] for p in policies] == ["payments", "shop"]
    assert {p["metadata"]["name"] for p in policies} == {naming.network_policy_name("prod-eu")}
    assert policies[0]["apiVersion"] == "networking.k8s.io/v1"
    assert policies[0]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "egress-gw"}}},
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}}]},
        ]}
    assert _gateway_rule(result)["spec"]["exportTo"] == ["*"]
    assert "&id" not in yaml.safe_dump(result)  # no shared references between the policies


@pytest.mark.parametrize("namespaces,fragment", [
    (["istio-system"], "the egress gateway's namespace"),
    (["kube-system"], "the cluster DNS's namespace"),
    (["Shop"], "is not a valid namespace name"),
    ("shop", "must be a list"),
])
def test_namespaces_that_must_reach_out_cannot_be_enforced(namespaces, fragment):
    errors = validate_settings(resolve_settings({"owner": "o", "enforce_namespaces": namespaces}))
    assert any(fragment in e for e in errors), errors


# --- checks before apply ---------------------------------------------------

def test_allowed_sources_without_mutual_tls_are_refused_naming_the_host():
    hosts = normalize_hosts(VARIANTS)
    errors = combination_errors(hosts, resolve_settings({"owner": "o", "gateway_mtls": False}), "external_services_hosts")
    assert len(errors) == 2
    assert errors[0].startswith("external_services_hosts[2] (host 'api.github.com'): allowed_sources: ")
    # The setting to change, as the caller names it.
    assert "(external_services_gateway_mtls: true)" in naming.name_errors(errors, {"gateway_mtls": "external_services_gateway_mtls"})[0]
    with pytest.raises(ValueError, match="cannot be rendered"):
        render(hosts, {"owner": "o", "gateway_mtls": False})


def test_default_deny_without_mutual_tls_is_refused():
    errors = combination_errors([], resolve_settings({"owner": "o", "gateway_mtls": "false", "default_deny": "yes"}))
    assert len(errors) == 1 and errors[0].startswith("default_deny: needs sidecar -> gateway mutual TLS (`gateway_mtls`: true)")


@pytest.mark.parametrize("value", ["maybe", 1])
def test_boolean_settings_are_checked(value):
    errors = validate_settings(resolve_settings({"owner": "o", "gateway_mtls": value}))
    assert any(e.startswith("gateway_mtls: must be a boolean") for e in errors)


def test_warnings():
    result = _render([{"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]},
                      {"host": "*.dyn.example.com", "resolution": "DYNAMIC_DNS", "ports": [TLS]}],
                     namespace="egress")
    warnings = "\n".join(result["warnings"])
    assert "'db.example.com': TCP port 5432 has no addresses" in warnings
    assert "'*.dyn.example.com': DYNAMIC_DNS through the egress gateway" in warnings
    assert "DestinationRule lives in namespace 'egress'" in warnings
    assert _render([{"host": "httpbin.org"}])["warnings"] == []


@pytest.mark.parametrize("service_ports,expected", [
    ([80, 443, 5432, 8080, 8081], []),
    ([{"name": "http2", "port": 80}, {"name": "https", "port": 443}, {"name": "tcp-5432", "port": 5432},
      {"name": "http-8080", "port": 8080}, {"name": "grpc-8081", "port": 8081}], []),
    ([{"name": "http2", "port": 80}, {"name": "https", "port": 443}, {"name": "tcp-5432", "port": "5432"},
      {"name": "http-8080", "port": 8080}, {"name": "tcp-8081", "port": 8081, "appProtocol": "grpc"}], []),
    ([80, 443], ["port 5432", "port 8080", "port 8081"]),
    ([{"name": "http2", "port": 80}, {"name": "https", "port": 443}, {"name": "tcp-5432", "port": 5432},
      {"name": "http-8080", "port": 8080}, {"name": "tcp-8081", "port": 8081}], ["declares port 8081 as 'tcp'"]),
    ([80, 443, 5432, 8080, {"name": "http-8081", "port": 8081}], ["as HTTP/1.1"]),
])
def test_gateway_port_errors(service_ports, expected):
    errors = gateway_port_errors(rendered_ports(_render(VARIANTS)), service_ports)
    # The same answer from the hosts alone, without rendering.
    assert gateway_port_errors(needed_ports(normalize_hosts(VARIANTS)), service_ports) == errors
    assert len(errors) == len(expected)
    for error, fragment in zip(errors, expected):
        assert fragment in error
    missing = [e for e in errors if "does not expose port 5432" in e]
    for error in missing:
        assert "'db.example.com' (TCP)" in error and "egress_gateway_extra_ports" in error


# --- random inventories ----------------------------------------------------

# One protocol per port number, so random hosts never clash at the gateway.
PORTS = [HTTP, {"number": 8080, "protocol": "HTTP"}, {"number": 8081, "protocol": "GRPC"},
         {"number": 8082, "protocol": "HTTP2"}, TLS, {"number": 8443, "protocol": "HTTPS"}]


@st.composite
def inventories(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    items = []
    for index in range(count):
        host = "h{0}.example.com".format(index)
        shape = draw(st.sampled_from(["plain", "sources", "origination", "tcp", "wildcard", "served", "direct"]))
        if shape == "tcp":
            items.append({"host": host, "ports": [{"number": 6000 + index, "protocol": "TCP"}],
                          "addresses": ["10.{0}.0.0/16".format(index)], "resolution": "STATIC",
                          "endpoints": [{"address": "10.{0}.0.1".format(index)}],
                          "allowed_sources": draw(st.sampled_from([None, {"namespaces": ["a"]}]))})
            continue
        if shape in ("wildcard", "served"):
            item = {"host": "*.w{0}.example.com".format(index), "ports": [TLS]}
            item.update({"resolution": "DYNAMIC_DNS"} if shape == "wildcard" else
                        {"served_by": "www.w{0}.example.com".format(index)})
            items.append(item)
            continue
        if shape == "origination":
            items.append({"host": host, "tls_origination": True, "ports": [HTTP],
                          "credential_name": draw(st.sampled_from([None, "client-cert"]))})
            continue
        ports = draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=4, unique_by=lambda p: p["number"]))
        item = {"host": host, "ports": ports, "via_gateway": shape != "direct"}
        if shape == "sources":
            item["allowed_sources"] = {"service_accounts": ["ns{0}/sa".format(index)]}
        items.append(item)
    return items


@given(inventories(), st.booleans(), st.booleans(), st.lists(st.sampled_from(["a", "b"]), max_size=2))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_route_names_a_missing_subset_or_server(items, mtls, deny, enforce):
    assert validate_hosts(items) == []
    hosts = normalize_hosts(items)
    options = {"owner": "o", "gateway_mtls": mtls, "default_deny": deny, "enforce_namespaces": enforce}
    assume(not combination_errors(hosts, resolve_settings(options)))
    result = render(hosts, options)
    if not result["virtual_services"]:
        return
    facts = routing_facts(result)  # KeyError on a missing subset, assertion on a missing server
    via = {(h["host"], p["number"]) for h in hosts if h["via_gateway"] for p in h["ports"]}
    assert set(facts) == via
    for (host, port), fact in facts.items():
        assert fact["gateway_port"] == port
        if fact["tls"]:
            assert fact["tls"] == ("ISTIO_MUTUAL", host) and fact["server"][1] == "ISTIO_MUTUAL"
        else:
            assert fact["server"][1] != "ISTIO_MUTUAL"
    subsets = [s["name"] for s in _gateway_rule(result)["spec"]["subsets"]]
    assert len(subsets) == len(set(subsets)) and all(naming.is_dns1123_label(s) for s in subsets)
    [gateway] = _kind(result, "Gateway")
    assert sorted({s["port"]["number"] for s in gateway["spec"]["servers"]}) == [
        p["number"] for p in result["gateway_ports"]]
    port_names = [s["port"]["name"] for s in gateway["spec"]["servers"]]
    assert len(port_names) == len(set(port_names))
    http_names = [r["name"] for vs in result["virtual_services"] for r in vs.get("http", [])]
    assert len(http_names) == len(set(http_names))
    names = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in result["objects"]]
    assert len(names) == len(set(names))
    assert gateway_port_errors(rendered_ports(result), [p["number"] for p in result["gateway_ports"]]) == []
    assert {port: (protocol, sorted(names)) for port, (protocol, names) in rendered_ports(result).items()} == {
        port: (protocol, sorted(names)) for port, (protocol, names) in needed_ports(hosts).items()}


def test_render_refuses_ports_the_known_gateway_service_lacks():
    with pytest.raises(ValueError, match="does not expose port 5432"):
        _render(VARIANTS, gateway_service_ports=[80, 443, 8080, 8081])
    assert _render(VARIANTS, gateway_service_ports=[80, 443, 5432, 8080, 8081])["objects"]
