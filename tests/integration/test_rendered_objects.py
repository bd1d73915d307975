"""Everything the collection renders is accepted by Istio and by a real API server.

Two real checks, on every object of every variant and of the example inventory:
- ``istioctl validate``: the Go validation istiod's admission webhook runs;
- a server-side dry-run create (``dryRun=All``, ``fieldValidation=Strict``) on the
  test control plane: Istio's CRD schemas and CEL rules, and unknown fields,
  judged by kube-apiserver itself.
The mistakes users make by hand are refused, so these tests can fail: by both
checks, except a misspelt kind, which istioctl validate passes as non-Istio YAML.
"""
import copy

import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils import _sidecar as sidecar
from ansible_collections.meshops.istio_egress.plugins.module_utils._host_rules import PROTOCOLS
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import API_VERSIONS, render
from helpers import istio_checks
from helpers.playbook import ROOT, run_playbook

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
CASES = [(owner, api_version) for owner in OWNERS for api_version in API_VERSIONS]
CASE_IDS = ["{0}-{1}".format(i, v.rpartition("/")[2]) for i, (_owner, v) in enumerate(CASES)]

# Every egress variant (docs/egress-variants.md), under every combination of the security settings.
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
VARIANT_IDS = ["{0}-{1}".format(("mtls", "deny-enforce", "plain")[s], v.rpartition("/")[2]) for s, v in VARIANT_CASES]
SIDECAR_SETTINGS = {"namespaces": ["payments", "shop"], "mode": "REGISTRY_ONLY", "name": "default",
                    "istio_namespace": "istio-system", "gateway_namespace": "istio-egress",
                    "hosts": ["httpbin.org", "*.example.com"], "hosts_namespace": ""}


def full_virtual_service(entry, api_version):
    """The object the merge module would create from one route entry."""
    spec = {key: copy.deepcopy(entry[key]) for key in ("hosts", "gateways", "http", "tls", "tcp") if key in entry}
    return {"apiVersion": api_version, "kind": "VirtualService",
            "metadata": {"name": entry["name"], "namespace": entry["namespace"]}, "spec": spec}


def rendered_objects(owner, api_version):
    result = render(normalize_hosts(INVENTORY), {"owner": owner, "api_version": api_version})
    return result["objects"] + [full_virtual_service(vs, api_version) for vs in result["virtual_services"]]


def variant_objects(security, api_version):
    items = VARIANTS
    if not SECURITY[security]["gateway_mtls"]:
        items = [{k: v for k, v in item.items() if k != "allowed_sources"} for item in VARIANTS]
    result = render(normalize_hosts(items), dict(SECURITY[security], owner=OWNERS[1], api_version=api_version,
                                                 namespace="istio-system"))
    return result["objects"] + [full_virtual_service(vs, api_version) for vs in result["virtual_services"]]


def name_of(obj):
    return "{0}/{1}".format(obj["kind"], obj["metadata"]["name"])


# --- the API server's judgement --------------------------------------------------------------------

def dry_run_create(server, obj, plural=None):
    """None when the API server accepts ``obj`` (strict, dry run), else its message."""
    if obj["metadata"].get("namespace"):  # a create in a missing namespace is refused before validation
        server.create_namespace(obj["metadata"]["namespace"])
    return server.dry_run_create(obj, plural)


def refused_by_the_api_server(server, objects):
    return {name_of(o): message for o in objects for message in [dry_run_create(server, o)] if message}


# --- every rendered object -----------------------------------------------------------------------------

def test_inventory_is_valid_and_covers_every_kind():
    assert validate_hosts(INVENTORY) == []
    kinds = {o["kind"] for o in rendered_objects(OWNERS[0], API_VERSIONS[0])}
    # payments.example.com's allowed_sources: the AuthorizationPolicies at the gateway.
    assert kinds == {"ServiceEntry", "Gateway", "DestinationRule", "VirtualService", "AuthorizationPolicy"}


def test_variants_are_valid_and_cover_every_kind():
    assert validate_hosts(VARIANTS) == []
    kinds = {o["kind"] for o in variant_objects(1, API_VERSIONS[0])}
    assert kinds == {"ServiceEntry", "Gateway", "DestinationRule", "VirtualService", "AuthorizationPolicy",
                     "NetworkPolicy"}


@pytest.mark.parametrize("owner,api_version", CASES, ids=CASE_IDS)
def test_every_rendered_object_passes_istioctl_validate(owner, api_version):
    assert istio_checks.validate(rendered_objects(owner, api_version)) == []


@pytest.mark.parametrize("owner,api_version", CASES, ids=CASE_IDS)
def test_every_rendered_object_passes_the_api_servers_strict_validation(apiserver, owner, api_version):
    assert refused_by_the_api_server(apiserver, rendered_objects(owner, api_version)) == {}


@pytest.mark.parametrize("security,api_version", VARIANT_CASES, ids=VARIANT_IDS)
def test_every_variant_passes_istioctl_validate(security, api_version):
    assert istio_checks.validate(variant_objects(security, api_version)) == []


@pytest.mark.parametrize("security,api_version", VARIANT_CASES, ids=VARIANT_IDS)
def test_every_variant_passes_the_api_servers_strict_validation(apiserver, security, api_version):
    # NetworkPolicy too: a built-in kind, decoded and validated as any client's would be.
    assert refused_by_the_api_server(apiserver, variant_objects(security, api_version)) == {}


@pytest.fixture(scope="module")
def example_objects(tmp_path_factory):
    """What site.yml renders for inventories/example (render mode, no cluster), every cluster."""
    render_dir = tmp_path_factory.mktemp("example") / "render"
    result = run_playbook("meshops.istio_egress.site", inventory=ROOT / "inventories" / "example",
                          extra_vars={"istio_egress_render_dir": str(render_dir)})
    assert result.rc == 0, result.stdout[-4000:] + result.stderr
    objects = [yaml.safe_load(path.read_text()) for path in sorted(render_dir.glob("*/*.yaml"))]
    assert objects, "site.yml rendered nothing under %s" % render_dir
    return objects


def test_the_example_inventory_passes_istioctl_validate(example_objects):
    assert istio_checks.validate(example_objects) == []


def test_the_example_inventory_passes_the_api_servers_strict_validation(apiserver, example_objects):
    assert refused_by_the_api_server(apiserver, example_objects) == {}


@pytest.mark.parametrize("mode", ["REGISTRY_ONLY", "ALLOW_ANY"])
def test_sidecars_are_accepted_by_istioctl_and_the_api_server(apiserver, mode):
    objects = sidecar.definitions(dict(SIDECAR_SETTINGS, mode=mode))
    assert istio_checks.validate(objects) == []
    assert refused_by_the_api_server(apiserver, objects) == {}


# --- the mistakes users make by hand are refused, so the checks above can fail -------------------------

def _deny_policy():
    result = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o", "default_deny": True})
    [policy] = [o for o in result["objects"] if o["kind"] == "AuthorizationPolicy"]
    return policy


def _httpbin_virtual_service():
    [entry] = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o"})["virtual_services"]
    return full_virtual_service(entry, API_VERSIONS[0])


def assert_refused_by_both(server, good, mistake, expected, istioctl_says):
    """``good`` passes both checks; with ``mistake`` applied, both refuse it, for that reason:
    the API server says ``expected``, istioctl validate ``istioctl_says``."""
    assert istio_checks.validate([good]) == [] and dry_run_create(server, good) is None
    bad = copy.deepcopy(good)
    mistake(bad)
    problems = istio_checks.validate([bad])
    assert any(istioctl_says in problem for problem in problems), problems
    message = dry_run_create(server, bad)
    assert message and expected in message, message


def _mistake_unknown_mode(obj):
    obj["spec"]["outboundTrafficPolicy"]["mode"] = "DENY"


def _mistake_misspelt_egress(obj):
    obj["spec"]["egres"] = obj["spec"].pop("egress")


@pytest.mark.parametrize("mistake,expected,istioctl_says", [
    (_mistake_unknown_mode, 'spec.outboundTrafficPolicy.mode: Unsupported value: "DENY"',
     "for enum istio.networking.v1alpha3.OutboundTrafficPolicy.Mode"),
    (_mistake_misspelt_egress, 'unknown field "spec.egres"', 'unknown field "egres"'),
], ids=["unknown-mode", "misspelt-egress"])
def test_hand_written_sidecar_mistakes_are_refused(apiserver, mistake, expected, istioctl_says):
    assert_refused_by_both(apiserver, sidecar.definitions(SIDECAR_SETTINGS)[0], mistake, expected, istioctl_says)


@pytest.mark.parametrize("change,expected,istioctl_says", [
    # What Istio refuses in the policies we write.
    (lambda spec: spec.update(action="PERMIT"), 'spec.action: Unsupported value: "PERMIT"',
     "for enum istio.security.v1beta1.AuthorizationPolicy.Action"),
    (lambda spec: spec.update(rules=[{"from": [{"source": {
        "serviceAccounts": ["ci/runner"], "principals": ["cluster.local/ns/ci/sa/runner"]}}]}]),
     "Cannot set serviceAccounts with namespaces or principals", "cannot set serviceAccounts with namespaces or principals"),
    # The policy selects the gateway pods by label already.
    (lambda spec: spec.update(targetRef={"kind": "Gateway", "name": "x"}), "only one of targetRefs or selector can be set",
     "only one of targetRefs or workloadSelector can be set"),
], ids=["action-permit", "service-accounts-with-principals", "target-ref-and-selector"])
def test_hand_written_policy_mistakes_are_refused(apiserver, change, expected, istioctl_says):
    assert_refused_by_both(apiserver, _deny_policy(), lambda obj: change(obj["spec"]), expected, istioctl_says)


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


@pytest.mark.parametrize("mistake,expected,istioctl_says", [
    (_mistake_gateway_singular, 'unknown field "spec.http[0].match[0].gateway"',
     'unknown field "gateway" in istio.networking.v1alpha3.HTTPMatchRequest'),
    (_mistake_named_tls_route, 'unknown field "spec.tls[0].name"',
     'unknown field "name" in istio.networking.v1alpha3.TLSRoute'),
    (_mistake_tls_without_sni, "spec.tls[0].match[0].sniHosts: Required value", "TLS match must have at least one SNI host"),
    (_mistake_port_as_string, "spec.http[0].match[0].port in body must be of type integer", "cannot parse proto message"),
], ids=["gateway-singular", "named-tls-route", "tls-without-sni", "port-as-string"])
def test_hand_written_virtual_service_mistakes_are_refused(apiserver, mistake, expected, istioctl_says):
    assert_refused_by_both(apiserver, _httpbin_virtual_service(), mistake, expected, istioctl_says)


def test_destination_instead_of_destination_rule_is_refused(apiserver):
    rule = render(normalize_hosts([{"host": "httpbin.org"}]), {"owner": "o"})["objects"][-1]
    assert rule["kind"] == "DestinationRule"
    assert istio_checks.validate([rule]) == [] and dry_run_create(apiserver, rule) is None
    wrong = dict(rule, kind="Destination")
    # istioctl validate checks the kinds it knows and passes any other as "non-Istio YAML"
    # (istioctl/pkg/validate): this mistake only the API server catches.
    assert istio_checks.validate([wrong]) == []
    # No API serves the kind, so a client finds nowhere to send it ...
    assert apiserver.plural_of(wrong["apiVersion"], "Destination") is None
    # ... and sent where the DestinationRule would go, the API server refuses it.
    message = dry_run_create(apiserver, wrong, plural="destinationrules")
    assert 'kind: Invalid value: "Destination": must be DestinationRule' in message, message


@pytest.mark.parametrize("change,expected,istioctl_says", [
    # What validate_hosts refuses, Istio refuses too (the CRD's CEL rules, istiod's validation).
    ({"addresses": ["10.0.0.0/24"]}, "CIDR addresses are allowed only for NONE/STATIC",
     "CIDR addresses are allowed only for NONE/STATIC"),
    ({"ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"},
                {"number": 80, "name": "tcp-80", "protocol": "TCP"}]}, "port number cannot be duplicated",
     "service entry port 80 already defined"),
    ({"hosts": ["*"]}, "hostname cannot be wildcard", "invalid host *"),
], ids=["cidr-with-dns", "duplicate-port", "bare-wildcard"])
def test_service_entry_rules_that_validation_mirrors(apiserver, change, expected, istioctl_says):
    entry = render(normalize_hosts([{"host": "httpbin.org", "via_gateway": False}]), {"owner": "o"})["objects"][0]
    assert_refused_by_both(apiserver, entry, lambda obj: obj["spec"].update(change), expected, istioctl_says)


def test_dynamic_dns_passes_validation_exactly_where_istio_serves_it(apiserver):
    # istiod refuses a DYNAMIC_DNS ServiceEntry on HTTPS or TCP ports: HTTPS is rendered as
    # the TLS it is, TCP is refused before any request.
    accepted, refused = [], []
    for index, protocol in enumerate(PROTOCOLS):
        for via_gateway in (True, False):
            item = {"host": "*.p{0}-{1}.example.com".format(index, via_gateway).lower(), "resolution": "DYNAMIC_DNS",
                    "via_gateway": via_gateway, "ports": [{"number": 443 if "TLS" in protocol or "HTTPS" in protocol
                                                          else 8000 + index, "protocol": protocol}]}
            (refused if validate_hosts([item]) else accepted).append(item)
    assert {(i["ports"][0]["protocol"], i["via_gateway"]) for i in accepted} >= {
        ("HTTPS", True), ("TLS", True), ("HTTPS", False), ("HTTP", False), ("GRPC", False)}
    objects = render(normalize_hosts(accepted), {"owner": "o"})["objects"]
    assert istio_checks.validate(objects) == []
    assert refused_by_the_api_server(apiserver, objects) == {}
    [tcp] = [i for i in refused if i["ports"][0]["protocol"] == "TCP" and not i["via_gateway"]]
    assert any("not TCP with DYNAMIC_DNS" in error for error in validate_hosts([tcp]))
    # The same ServiceEntry written by hand: Istio refuses it.
    [entry] = render(normalize_hosts([dict(tcp, resolution="NONE")]), {"owner": "o"})["objects"]
    entry["spec"]["resolution"] = "DYNAMIC_DNS"
    assert any("resolution type DYNAMIC_DNS" in problem for problem in istio_checks.validate([entry]))
