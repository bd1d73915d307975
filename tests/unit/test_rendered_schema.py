"""Everything render() produces is accepted by Istio's real CRD schemas
(structural schema, strict unknown-field checks and CEL rules), as a
kube-apiserver with fieldValidation=Strict would accept it."""
import copy
from pathlib import Path

import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils.hosts import normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils.render import API_VERSIONS, render

CRD_BUNDLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "istio" / "crd-all.gen.yaml"
MAX_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
INVENTORY = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "secure.example.com", "ports": [{"number": 8443, "protocol": "HTTPS"}]},
    {"host": "grpc.example.com", "ports": [{"number": 8081, "protocol": "GRPC"}, {"number": 8082, "protocol": "HTTP2"}]},
    {"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]},
    {"host": "*.wild.example.com", "resolution": "DYNAMIC_DNS", "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "static.example.com", "via_gateway": False, "resolution": "STATIC", "addresses": ["10.8.0.0/16"],
     "ports": [{"number": 80, "protocol": "HTTP"}],
     "endpoints": [{"address": "10.8.0.5", "ports": {"http-80": 8080}}, {"address": "10.8.0.6"}]},
    {"host": "mirror.example.com", "via_gateway": False, "addresses": ["192.0.2.10"],
     "endpoints": [{"address": "mirror-1.example.net"}]},
    {"host": "*.direct.example.com", "via_gateway": False, "resolution": "NONE",
     "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "payments.example.com", "allowed_sources": {"namespaces": ["payments"],
                                                         "service_accounts": ["payments/checkout"]}},
    {"host": MAX_HOST},
]
OWNERS = ["prod-eu", "Cluster_1.example." + "x" * 45]


@pytest.fixture(scope="module", name="crds")
def _crds():
    if not CRD_BUNDLE.is_file():
        pytest.skip("Istio CRD bundle not found at {0}: it lives next to the project root "
                    "(../shared/istio/crd-all.gen.yaml)".format(CRD_BUNDLE))
    from k8s_server.schema import load_crds
    return load_crds(str(CRD_BUNDLE))


def full_virtual_service(entry, api_version):
    """The object the merge module would create from one route entry."""
    spec = {key: copy.deepcopy(entry[key]) for key in ("hosts", "gateways", "http", "tls", "tcp") if key in entry}
    return {"apiVersion": api_version, "kind": "VirtualService",
            "metadata": {"name": entry["name"], "namespace": entry["namespace"]}, "spec": spec}


def rendered_objects(owner, api_version):
    result = render(normalize_hosts(INVENTORY), {"owner": owner, "api_version": api_version})
    return result["objects"] + [full_virtual_service(vs, api_version) for vs in result["virtual_services"]]


CASES = [(owner, api_version) for owner in OWNERS for api_version in API_VERSIONS]


def test_inventory_is_valid_and_covers_every_kind():
    assert validate_hosts(INVENTORY) == []
    kinds = {o["kind"] for o in rendered_objects(OWNERS[0], API_VERSIONS[0])}
    # payments.example.com's allowed_sources: the AuthorizationPolicies at the gateway.
    assert kinds == {"ServiceEntry", "Gateway", "DestinationRule", "VirtualService", "AuthorizationPolicy"}


@pytest.mark.parametrize("owner,api_version", CASES, ids=["{0}-{1}".format(i, v.rpartition("/")[2])
                                                          for i, (_label, v) in enumerate(CASES)])
def test_every_rendered_object_passes_istio_schema_strictly(crds, owner, api_version):
    failures = {}
    for obj in rendered_objects(owner, api_version):
        errors = crds.validate(obj, strict=True)
        if errors:
            failures["{0}/{1}".format(obj["kind"], obj["metadata"]["name"])] = errors
    assert failures == {}


# Every egress variant of issue #5, under every combination of the security settings.
VARIANTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}],
     "allowed_sources": {"namespaces": ["ci"], "service_accounts": ["ci/runner"]}},
    {"host": "secure.example.com", "tls_origination": True},
    {"host": "partner.example.com", "tls_origination": True, "origination_port": 8443,
     "credential_name": "partner-client", "ports": [{"number": 8080, "protocol": "HTTP"}]},
    {"host": "db.partner.example", "ports": [{"number": 5432, "protocol": "TCP"}], "addresses": ["203.0.113.0/24"],
     "resolution": "STATIC", "endpoints": [{"address": "203.0.113.10", "ports": {"tcp-5432": 15432}}],
     "allowed_sources": {"service_accounts": ["payments/checkout"]}},
    {"host": "grpc.example.com", "ports": [{"number": 8081, "protocol": "GRPC"}, {"number": 8082, "protocol": "HTTP2"}],
     "allowed_sources": {"namespaces": ["payments"]}},
    {"host": "*.wikipedia.org", "served_by": "www.wikipedia.org", "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "*.dyn.example.com", "resolution": "DYNAMIC_DNS", "ports": [{"number": 443, "protocol": "HTTPS"}]},
    {"host": "*.direct.example.com", "via_gateway": False, "resolution": "NONE",
     "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": MAX_HOST, "tls_origination": True, "allowed_sources": {"namespaces": ["a" * 63]}},
]
SECURITY = [
    {"gateway_mtls": True},
    {"gateway_mtls": True, "default_deny": True, "enforce_namespaces": ["payments", "shop"],
     "gateway_service_ports": [{"name": "http2", "port": 80, "targetPort": 8080},
                               {"name": "https", "port": 443, "targetPort": 8443}, 5432, 8080, 8081, 8082],
     "trust_domain": "prod.example.com"},
    {"gateway_mtls": False},
]
VARIANT_CASES = [(security, api_version) for security in range(len(SECURITY)) for api_version in API_VERSIONS]


def variant_objects(security, api_version):
    items = VARIANTS
    if not SECURITY[security]["gateway_mtls"]:
        items = [{k: v for k, v in item.items() if k != "allowed_sources"} for item in VARIANTS]
    result = render(normalize_hosts(items), dict(SECURITY[security], owner=OWNERS[1], api_version=api_version,
                                                 namespace="istio-system"))
    return result["objects"] + [full_virtual_service(vs, api_version) for vs in result["virtual_services"]]


def test_variants_are_valid_and_cover_every_kind():
    assert validate_hosts(VARIANTS) == []
    kinds = {o["kind"] for o in variant_objects(1, API_VERSIONS[0])}
    assert kinds == {"ServiceEntry", "Gateway", "DestinationRule", "VirtualService", "AuthorizationPolicy",
                     "NetworkPolicy"}


@pytest.mark.parametrize("security,api_version", VARIANT_CASES, ids=[
    "{0}-{1}".format(("mtls", "deny-enforce", "plain")[s], v.rpartition("/")[2]) for s, v in VARIANT_CASES])
def test_every_variant_passes_istio_schema_strictly(crds, security, api_version):
    from k8s_server.builtin_schema import decode
    failures = {}
    for obj in variant_objects(security, api_version):
        if obj["kind"] == "NetworkPolicy":
            # A built-in kind: decoded as kube-apiserver does, unknown fields listed.
            errors = decode("V1NetworkPolicy", obj["kind"], obj["apiVersion"], obj)[1]
        else:
            errors = crds.validate(obj, strict=True)
        if errors:
            failures["{0}/{1}".format(obj["kind"], obj["metadata"]["name"])] = errors
    assert failures == {}


def _deny_policy():
    result = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o", "default_deny": True})
    [policy] = [o for o in result["objects"] if o["kind"] == "AuthorizationPolicy"]
    return policy


@pytest.mark.parametrize("change,expected", [
    # What Istio's schema refuses in the policies we write, so the test above can fail.
    (lambda spec: spec.update(action="PERMIT"), "spec.action"),
    (lambda spec: spec.update(rules=[{"from": [{"source": {
        "serviceAccounts": ["ci/runner"], "principals": ["cluster.local/ns/ci/sa/runner"]}}]}]),
     "Cannot set serviceAccounts with namespaces or principals"),
    (lambda spec: spec.update(targetRef={"kind": "Gateway", "name": "x"}), "targetRef"),
])
def test_hand_written_policy_mistakes_are_rejected(crds, change, expected):
    policy = _deny_policy()
    assert crds.validate(policy, strict=True) == []
    change(policy["spec"])
    errors = crds.validate(policy, strict=True)
    assert any(expected in e for e in errors), errors


def test_validation_rules_were_evaluated(crds):
    # A skipped CEL rule would make the tests above weaker than a real cluster.
    ours = ("ServiceEntry", "Gateway", "DestinationRule", "VirtualService", "AuthorizationPolicy")
    assert [r for r in crds.unsupported_rules if r["kind"] in ours] == []


def _httpbin_virtual_service():
    [entry] = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o"})["virtual_services"]
    return full_virtual_service(entry, API_VERSIONS[0])


def _mistake_gateway_singular(obj):
    match = obj["spec"]["http"][0]["match"][0]
    match["gateway"] = match.pop("gateways")


def _mistake_named_tls_route(obj):
    obj["spec"]["tls"] = [{"name": "x", "match": [{"port": 443, "sniHosts": ["httpbin.org"]}],
                           "route": [{"destination": {"host": "httpbin.org"}}]}]


def _mistake_tls_without_sni(obj):
    obj["spec"]["tls"] = [{"match": [{"port": 443}], "route": [{"destination": {"host": "httpbin.org"}}]}]


def _mistake_port_as_string(obj):
    obj["spec"]["http"][0]["match"][0]["port"] = "eighty"


@pytest.mark.parametrize("mistake,expected", [
    (_mistake_gateway_singular, 'unknown field "spec.http[0].match[0].gateway"'),
    (_mistake_named_tls_route, "spec.tls[0].name"),
    (_mistake_tls_without_sni, "sniHosts"),
    (_mistake_port_as_string, "spec.http[0].match[0].port"),
])
def test_hand_written_virtual_service_mistakes_are_rejected(crds, mistake, expected):
    obj = _httpbin_virtual_service()
    assert crds.validate(obj, strict=True) == []
    mistake(obj)
    errors = crds.validate(obj, strict=True)
    assert any(expected in e for e in errors), errors


def test_unknown_kind_is_rejected(crds):
    obj = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o"})["objects"][-1]
    assert obj["kind"] == "DestinationRule" and crds.validate(obj, strict=True) == []
    obj = dict(obj, kind="Destination")
    assert crds.validate(obj, strict=True) == [
        'no matches for kind "Destination" in version "networking.istio.io/v1"']


@pytest.mark.parametrize("change,expected", [
    # What validate_hosts refuses, the API server would refuse too.
    ({"addresses": ["10.0.0.0/24"]}, "CIDR addresses are allowed only for NONE/STATIC"),
    ({"ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"},
                {"number": 80, "name": "tcp-80", "protocol": "TCP"}]}, "port number cannot be duplicated"),
    ({"hosts": ["*"]}, "hostname cannot be wildcard"),
])
def test_service_entry_rules_that_validation_mirrors(crds, change, expected):
    obj = render(normalize_hosts([{"host": "httpbin.org", "via_gateway": False}]), {"owner": "o"})["objects"][0]
    obj["spec"].update(change)
    errors = crds.validate(obj, strict=True)
    assert any(expected in e for e in errors), errors
