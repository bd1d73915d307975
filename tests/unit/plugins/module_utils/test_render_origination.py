"""TLS origination must not open the host's TLS port to the sidecars.

The traffic check (tests/traffic, docs/traffic-check.md) showed that a
ServiceEntry listing the origination port (443) let every sidecar reach the
host on 443 straight, around the egress gateway, even under REGISTRY_ONLY.
The app's HTTP ports now reach the origination port through their
``targetPort``: the gateway still opens TLS to it, and no ServiceEntry a
sidecar sees names it.
"""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import render

ITEMS = [
    {"host": "secure.example.com", "tls_origination": True},
    {"host": "mtls.example.com", "tls_origination": True, "origination_port": 8443, "credential_name": "mtls-client",
     "ports": [{"number": 8080, "protocol": "HTTP"}, {"number": 8081, "protocol": "HTTP2"}]},
    {"host": "static.example.com", "tls_origination": True, "resolution": "STATIC",
     "endpoints": [{"address": "192.0.2.7", "ports": {"https-443": 9443}}]},
]


def _objects(kind, **settings):
    settings.setdefault("owner", "prod")
    result = render(normalize_hosts(ITEMS), settings)
    return {o["spec"].get("host") or o["spec"]["hosts"][0]: o for o in result["objects"] if o["kind"] == kind}, result


def _item(host):
    [item] = normalize_hosts([i for i in ITEMS if i["host"] == host])
    return item


@pytest.mark.parametrize("host", [i["host"] for i in ITEMS])
def test_no_service_entry_names_the_origination_port(host):
    entries, dummy = _objects("ServiceEntry")
    item = _item(host)
    ports = entries[host]["spec"]["ports"]
    assert item["origination_port"] not in [p["number"] for p in ports]
    # Exactly the app's ports, each landing on the host's TLS port.
    assert [(p["number"], p["targetPort"]) for p in ports] == [
        (p["number"], item["origination_port"]) for p in item["ports"]]


@pytest.mark.parametrize("host", [i["host"] for i in ITEMS])
def test_the_gateway_originates_tls_on_every_port_its_route_names(host):
    rules, result = _objects("DestinationRule")
    [service] = [vs for vs in result["virtual_services"] if vs["hosts"] == [host]]
    routed = sorted(r["route"][0]["destination"]["port"]["number"] for r in service["http"]
                    if r["route"][0]["destination"]["host"] == host)
    levels = rules[host]["spec"]["trafficPolicy"]["portLevelSettings"]
    assert sorted(level["port"]["number"] for level in levels) == routed
    item = _item(host)
    for level in levels:
        assert level["tls"]["sni"] == host
        assert level["tls"]["mode"] == ("MUTUAL" if item["credential_name"] else "SIMPLE")


def test_an_endpoint_port_given_for_the_origination_port_still_applies():
    entries, dummy = _objects("ServiceEntry")
    [endpoint] = entries["static.example.com"]["spec"]["endpoints"]
    assert endpoint == {"address": "192.0.2.7", "ports": {"http-80": 9443}}


def test_rendered_twice_the_same():
    # The origination helper copies the host: rendering must not change its input.
    hosts = normalize_hosts(ITEMS)
    first = render(hosts, {"owner": "prod"})
    assert render(hosts, {"owner": "prod"}) == first
