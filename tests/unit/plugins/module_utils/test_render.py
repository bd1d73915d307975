"""render(): the routing facts of Istio's egress gateway task hold for
whatever the inventory lists."""
import json
import random
import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import name_errors
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import DEFAULT_SETTINGS, render, validate_settings, \
    resolve_settings

GATEWAY_FQDN = "istio-egressgateway.istio-system.svc.cluster.local"
LABELS = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "prod-eu"}
EXAMPLE_HOSTS = [
    {"host": "httpbin.org", "ports": [{"number": 80, "protocol": "HTTP"}]},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "mirror.example.com", "via_gateway": False, "ports": [{"number": 443, "protocol": "HTTPS"}]},
]
MIXED_HOSTS = EXAMPLE_HOSTS + [
    {"host": "grpc.example.com", "ports": [{"number": 8081, "protocol": "GRPC"}]},
    {"host": "h2.example.com", "ports": [{"number": 8082, "protocol": "HTTP2"}]},
    {"host": "secure.example.com", "ports": [{"number": 443, "protocol": "HTTPS"}]},
    {"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]},
    {"host": "*.wild.example.com", "resolution": "DYNAMIC_DNS", "ports": [{"number": 443, "protocol": "TLS"}]},
]


def _render(items, **settings):
    settings.setdefault("owner", "prod-eu")
    return render(normalize_hosts(items), settings)


def _by_kind(result, kind):
    return [o for o in result["objects"] if o["kind"] == kind]


def _one(result, kind):
    [obj] = _by_kind(result, kind)
    return obj


def _routes(virtual_service):
    for kind in ("http", "tls", "tcp"):
        for route in virtual_service.get(kind, []):
            yield kind, route


@pytest.fixture(name="mixed")
def _mixed():
    return _render(MIXED_HOSTS)


def test_every_mesh_route_goes_to_the_egress_gateway_with_an_existing_subset(mixed):
    subsets = {s["name"] for s in _one(mixed, "DestinationRule")["spec"]["subsets"]}
    assert _one(mixed, "DestinationRule")["spec"]["host"] == GATEWAY_FQDN
    seen = 0
    for vs in mixed["virtual_services"]:
        for _kind, route in _routes(vs):
            [match] = route["match"]
            if match["gateways"] != ["mesh"]:
                continue
            [target] = route["route"]
            assert target["destination"]["host"] == GATEWAY_FQDN
            assert target["destination"]["subset"] in subsets
            assert target["destination"]["port"] == {"number": match["port"]}
            seen += 1
    assert seen == 9  # one per via-gateway host and port


def test_every_gateway_route_goes_to_the_external_host_on_the_same_port(mixed):
    gateway = _one(mixed, "Gateway")["metadata"]["name"]
    for vs in mixed["virtual_services"]:
        [host] = vs["hosts"]
        legs = set()
        for kind, route in _routes(vs):
            [match] = route["match"]
            assert match["gateways"] in (["mesh"], [gateway])
            legs.add((match["gateways"][0], match["port"]))
            if match["gateways"] == [gateway]:
                assert route["route"] == [{"destination": {"host": host, "port": {"number": match["port"]}},
                                           "weight": 100}]
            if kind == "tls":
                assert match["sniHosts"] == [host]
        ports = {p["number"] for item in normalize_hosts(MIXED_HOSTS) if item["host"] == host for p in item["ports"]}
        assert legs == {(leg, port) for leg in ("mesh", gateway) for port in ports}


def test_route_kind_follows_the_protocol(mixed):
    kinds = {vs["hosts"][0]: sorted({kind for kind, _route in _routes(vs)}) for vs in mixed["virtual_services"]}
    assert kinds == {
        "httpbin.org": ["http"], "edition.cnn.com": ["http", "tls"], "api.github.com": ["tls"],
        "grpc.example.com": ["http"], "h2.example.com": ["http"], "secure.example.com": ["tls"],
        "db.example.com": ["tcp"], "*.wild.example.com": ["tls"],
    }
    for vs in mixed["virtual_services"]:
        assert all(vs[kind] for kind in ("http", "tls", "tcp") if kind in vs)  # no empty lists


def test_http_routes_are_named_uniquely_and_tls_tcp_routes_are_not(mixed):
    names = []
    for vs in mixed["virtual_services"]:
        for kind, route in _routes(vs):
            if kind == "http":
                names.append(route["name"])
            else:
                assert "name" not in route  # Istio's TLSRoute/TCPRoute have no name field
    assert len(names) == len(set(names)) == 8


def test_gateway_has_a_server_per_port_with_exactly_its_via_gateway_hosts():
    # The plain form of Istio's basic task; the mutual TLS form (the default)
    # is in test_render_variants.py.
    spec = _one(_render(MIXED_HOSTS, gateway_mtls=False), "Gateway")["spec"]
    assert spec["selector"] == {"istio": "egressgateway"}
    servers = {(s["port"]["number"], s["port"]["protocol"]): s for s in spec["servers"]}
    assert {k: v["hosts"] for k, v in servers.items()} == {
        (80, "HTTP"): ["edition.cnn.com", "httpbin.org"],
        (443, "TLS"): ["*.wild.example.com", "api.github.com", "edition.cnn.com", "secure.example.com"],
        (5432, "TCP"): ["db.example.com"],
        (8081, "GRPC"): ["grpc.example.com"],
        (8082, "HTTP2"): ["h2.example.com"],
    }
    assert servers[(443, "TLS")]["tls"] == {"mode": "PASSTHROUGH"}
    assert all("tls" not in s for k, s in servers.items() if k[1] != "TLS")
    assert [s["port"]["number"] for s in spec["servers"]] == sorted(s["port"]["number"] for s in spec["servers"])


def test_virtual_services_name_the_gateway_and_mesh_in_the_gateways_namespace(mixed):
    gateway = _one(mixed, "Gateway")["metadata"]
    for vs in mixed["virtual_services"]:
        assert vs["gateways"] == [gateway["name"], "mesh"]
        assert vs["namespace"] == gateway["namespace"]  # so the short Gateway name resolves


def test_direct_hosts_get_only_a_service_entry(mixed):
    direct = "mirror.example.com"
    entries = [o for o in mixed["objects"] if direct in o["spec"].get("hosts", [])]
    assert [o["kind"] for o in entries] == ["ServiceEntry"]
    assert all(direct not in vs["hosts"] for vs in mixed["virtual_services"])
    assert all(direct not in s["hosts"] for s in _one(mixed, "Gateway")["spec"]["servers"])


def test_all_direct_hosts_need_no_gateway_or_destination_rule():
    result = _render([{"host": "a.example.com", "via_gateway": False}, {"host": "b.example.com", "via_gateway": False}])
    assert [o["kind"] for o in result["objects"]] == ["ServiceEntry", "ServiceEntry"]
    assert result["virtual_services"] == []
    assert result["summary"] == {"hosts": 2, "via_gateway": 0, "direct": 2, "objects": {
        "ServiceEntry": 2, "Gateway": 0, "DestinationRule": 0, "VirtualService": 0}}


def test_example_inventory_service_entries_follow_istio_docs():
    result = _render(EXAMPLE_HOSTS)
    specs = {o["spec"]["hosts"][0]: o["spec"] for o in _by_kind(result, "ServiceEntry")}
    assert specs["edition.cnn.com"] == {
        "hosts": ["edition.cnn.com"],
        "ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"},
                  {"number": 443, "name": "tls-443", "protocol": "TLS"}],
        "resolution": "DNS",
        "location": "MESH_EXTERNAL",
    }
    assert specs["mirror.example.com"]["ports"] == [{"number": 443, "name": "https-443", "protocol": "HTTPS"}]
    assert result["summary"] == {"hosts": 4, "via_gateway": 3, "direct": 1, "objects": {
        "ServiceEntry": 4, "Gateway": 1, "DestinationRule": 1, "VirtualService": 3}}


def test_service_entry_carries_addresses_and_endpoints_when_given():
    [entry] = _render([{"host": "db.example.com", "via_gateway": False, "resolution": "STATIC",
                        "ports": [{"number": 5432, "protocol": "TCP"}], "addresses": ["10.9.0.0/16"],
                        "endpoints": [{"address": "10.9.0.5", "ports": {"tcp-5432": 15432}},
                                      {"address": "10.9.0.6"}]}])["objects"]
    assert entry["spec"]["addresses"] == ["10.9.0.0/16"]
    assert entry["spec"]["endpoints"] == [{"address": "10.9.0.5", "ports": {"tcp-5432": 15432}},
                                          {"address": "10.9.0.6"}]
    assert entry["spec"]["resolution"] == "STATIC"


def test_every_object_carries_the_ownership_labels_and_namespace(mixed):
    for obj in mixed["objects"]:
        assert obj["metadata"]["labels"] == LABELS
        assert obj["metadata"]["namespace"] == "istio-system"
        assert obj["apiVersion"] == "networking.istio.io/v1"


def test_settings_reach_every_object():
    result = _render(EXAMPLE_HOSTS, owner="team-a", namespace="egress", api_version="networking.istio.io/v1beta1",
                     gateway_namespace="gw-ns", gateway_service="my-egress", gateway_selector={"app": "my-egress"},
                     cluster_domain="corp.internal")
    fqdn = "my-egress.gw-ns.svc.corp.internal"
    assert {o["apiVersion"] for o in result["objects"]} == {"networking.istio.io/v1beta1"}
    assert {o["metadata"]["namespace"] for o in result["objects"]} == {"egress"}
    assert {o["metadata"]["labels"]["egress.meshops.io/owner"] for o in result["objects"]} == {"team-a"}
    assert _one(result, "DestinationRule")["spec"]["host"] == fqdn
    assert _one(result, "Gateway")["spec"]["selector"] == {"app": "my-egress"}
    mesh_targets = {r["route"][0]["destination"]["host"] for vs in result["virtual_services"]
                    for _kind, r in _routes(vs) if r["match"][0]["gateways"] == ["mesh"]}
    assert mesh_targets == {fqdn}
    assert {vs["namespace"] for vs in result["virtual_services"]} == {"egress"}


def _owned(rendered):
    return {(o["kind"], o["metadata"]["name"]) for o in rendered["objects"]}


def _http_names(rendered):
    return {x["name"] for vs in rendered["virtual_services"] for x in vs.get("http", [])}


def test_two_owners_never_share_an_owned_object_but_share_virtual_services():
    first, second = _render(EXAMPLE_HOSTS, owner="a"), _render(EXAMPLE_HOSTS, owner="b")
    assert not _owned(first) & _owned(second)
    assert [vs["name"] for vs in first["virtual_services"]] == [vs["name"] for vs in second["virtual_services"]]
    assert not _http_names(first) & _http_names(second)


def test_output_does_not_depend_on_input_order():
    shuffled = list(MIXED_HOSTS)
    random.Random(7).shuffle(shuffled)
    assert _render(shuffled) == _render(MIXED_HOSTS)


def test_output_is_plain_data_without_shared_references(mixed):
    json.dumps(mixed)
    # A YAML dumper writes anchors/aliases for objects referenced twice.
    assert "&id" not in yaml.safe_dump(mixed)


def test_a_thousand_hosts_render_fast_with_expected_counts():
    items = [{"host": "h{0}.example.com".format(i),
              "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}],
              "via_gateway": i % 10 != 0} for i in range(1000)]
    hosts = normalize_hosts(items)
    start = time.perf_counter()
    result = render(hosts, {"owner": "prod-eu"})
    assert time.perf_counter() - start < 1.0
    assert result["summary"] == {"hosts": 1000, "via_gateway": 900, "direct": 100, "objects": {
        "ServiceEntry": 1000, "Gateway": 1, "DestinationRule": 1, "VirtualService": 900}}
    assert [len(s["hosts"]) for s in _one(result, "Gateway")["spec"]["servers"]] == [900, 900]
    assert sum(len(vs["http"]) + len(vs["tls"]) for vs in result["virtual_services"]) == 3600


@pytest.mark.parametrize("settings,field", [
    ({}, "owner:"),
    ({"owner": ""}, "owner:"),
    ({"owner": "has space"}, "owner:"),
    ({"owner": "x" * 64}, "owner:"),
    ({"owner": "ok", "namespace": "Istio-System"}, "namespace:"),
    ({"owner": "ok", "gateway_namespace": "a" * 64}, "gateway_namespace:"),
    ({"owner": "ok", "gateway_service": "1gateway"}, "gateway_service:"),
    ({"owner": "ok", "cluster_domain": "bad..domain"}, "cluster_domain:"),
    ({"owner": "ok", "api_version": "networking.istio.io/v2"}, "api_version:"),
    ({"owner": "ok", "gateway_selector": {}}, "gateway_selector:"),
    ({"owner": "ok", "gateway_selector": {"istio": "egress gateway"}}, "gateway_selector:"),
    ({"owner": "ok", "namespce": "x"}, "did you mean 'namespace'"),
])
def test_invalid_settings_are_reported(settings, field):
    errors = validate_settings(resolve_settings(settings))
    assert any(field in e for e in errors), errors
    with pytest.raises(ValueError):
        render([], settings)


def test_all_setting_errors_come_together():
    errors = validate_settings(resolve_settings({"owner": "", "namespace": "A", "cluster_domain": "-"}))
    assert [e.split(":")[0] for e in errors] == ["owner", "namespace", "cluster_domain"]


# The external_services role's names for the settings: the only place they are written.
ROLE_NAMES = yaml.safe_load((Path(__file__).resolve().parents[4] / "roles" / "external_services" / "vars" / "main.yml")
                            .read_text())["external_services_variable_names"]["settings"]


def test_the_role_names_every_setting():
    assert sorted(ROLE_NAMES) == sorted(DEFAULT_SETTINGS)


@pytest.mark.parametrize("settings,variable", [
    ({"owner": "has space"}, "istio_egress_owner: 'has space'"),
    ({"owner": "ok", "namespace": "Istio-System"}, "external_services_namespace: 'Istio-System'"),
    ({"owner": "ok", "enforce_namespaces": ["Shop"]}, "external_services_enforce_namespaces[0]: 'Shop'"),
    ({"owner": "ok", "gateway_service_ports": "80"}, "external_services_gateway_ports (setting gateway_service_ports): "),
    ({"owner": "ok", "namespce": "x"}, "namespce: unknown setting"),
])
def test_setting_errors_name_the_role_variable(settings, variable):
    errors = name_errors(validate_settings(resolve_settings(settings)), ROLE_NAMES, note_key=True)
    assert any(e.startswith(variable) for e in errors), errors
    # Unnamed, each error leads with the setting's own key.
    assert all(not e.startswith(("external_services_", "istio_egress_")) for e in validate_settings(resolve_settings(settings)))


def test_default_settings_are_the_istio_defaults():
    assert resolve_settings({"owner": "o", "namespace": None}) == {
        "owner": "o", "namespace": "istio-system", "api_version": "networking.istio.io/v1",
        "gateway_namespace": "istio-system", "gateway_service": "istio-egressgateway",
        "gateway_selector": {"istio": "egressgateway"}, "cluster_domain": "cluster.local",
        "gateway_mtls": True, "default_deny": False, "enforce_namespaces": (), "trust_domain": "cluster.local",
        "control_plane_namespace": "istio-system", "gateway_service_ports": None}
