"""sidecar.definitions / conflicts: per-namespace Sidecars, table-driven. Istio and the API
server judge the Sidecars in tests/integration/test_rendered_objects.py."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils import _sidecar as sidecar
from helpers.role_vars import role_var

# What the outbound_policy role calls each setting (its messages name the role's variables).
ROLE_NAMES = role_var("outbound_policy", "outbound_policy_variable_names")

BASE = {
    "namespaces": ["payments", "shop"],
    "mode": "REGISTRY_ONLY",
    "name": "default",
    "istio_namespace": "istio-system",
    "gateway_namespace": "istio-egress",
    "hosts": [],
    "hosts_namespace": "",
}


def settings(**changes):
    result = dict(BASE)
    result.update(changes)
    return result


HOST_CASES = [
    # (id, changes, expected egress hosts)
    ("no-hosts", {}, ["./*", "istio-system/*", "istio-egress/*"]),
    ("gateway-in-control-plane-ns", {"gateway_namespace": "istio-system"}, ["./*", "istio-system/*"]),
    ("hosts-unknown-namespace", {"hosts": ["httpbin.org", "*.example.com"]},
     ["./*", "istio-system/*", "istio-egress/*", "*/*.example.com", "*/httpbin.org"]),
    ("hosts-own-namespace", {"hosts": ["httpbin.org"], "hosts_namespace": "egress-config"},
     ["./*", "istio-system/*", "istio-egress/*", "egress-config/httpbin.org"]),
    ("hosts-covered-by-control-plane", {"hosts": ["httpbin.org"], "hosts_namespace": "istio-system"},
     ["./*", "istio-system/*", "istio-egress/*"]),
    ("external-services-items", {"hosts": [{"host": "b.example.org", "ports": [{"number": 443, "protocol": "TLS"}]},
                                           {"host": "a.example.org"}, "a.example.org"], "hosts_namespace": "mesh-ext"},
     ["./*", "istio-system/*", "istio-egress/*", "mesh-ext/a.example.org", "mesh-ext/b.example.org"]),
]


@pytest.mark.parametrize("changes,hosts", [c[1:] for c in HOST_CASES], ids=[c[0] for c in HOST_CASES])
def test_egress_hosts(changes, hosts):
    objects = sidecar.definitions(settings(**changes))
    assert [o["metadata"]["namespace"] for o in objects] == ["payments", "shop"]
    for obj in objects:
        assert obj["apiVersion"] == "networking.istio.io/v1" and obj["kind"] == "Sidecar"
        assert obj["metadata"]["name"] == "default"
        assert obj["spec"] == {"egress": [{"hosts": hosts}], "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
        assert "workloadSelector" not in obj["spec"]


def test_namespaces_deduplicated_and_sorted():
    objects = sidecar.definitions(settings(namespaces=["shop", "payments", "shop"]))
    assert [o["metadata"]["namespace"] for o in objects] == ["payments", "shop"]


def test_empty_namespace_list_declares_nothing():
    assert sidecar.definitions(settings(namespaces=[])) == []


def test_api_version_follows_settings():
    objects = sidecar.definitions(settings(api_version="networking.istio.io/v1beta1"))
    assert {o["apiVersion"] for o in objects} == {"networking.istio.io/v1beta1"}


ERROR_CASES = [
    ("mode-lowercase", {"mode": "registry_only"}, "outbound_policy_mode: Istio accepts only REGISTRY_ONLY or ALLOW_ANY"),
    ("mode-unknown", {"mode": "VIRTUAL_SERVICE_ONLY"}, "Istio accepts only REGISTRY_ONLY or ALLOW_ANY"),
    ("namespaces-not-list", {"namespaces": "payments"}, "outbound_policy_namespaces: must be a list"),
    ("namespace-invalid", {"namespaces": ["Payments"]}, "outbound_policy_namespaces[0]: 'Payments' is not a valid namespace"),
    ("name-invalid", {"name": "Default_"}, "outbound_policy_sidecar_name"),
    ("istio-ns-invalid", {"istio_namespace": ""}, "outbound_policy_istio_namespace"),
    ("gateway-ns-invalid", {"gateway_namespace": "a b"}, "outbound_policy_gateway_namespace"),
    ("hosts-ns-invalid", {"hosts_namespace": "A"}, "outbound_policy_hosts_namespace"),
    ("host-invalid", {"hosts": ["*"]}, "outbound_policy_hosts[0]: a bare '*'"),
    ("host-ip", {"hosts": ["ok.example.com", "10.0.0.1"]}, "outbound_policy_hosts[1]: '10.0.0.1' is an IP address"),
    ("api-version", {"api_version": "v1"}, "outbound_policy_api_version"),
]


@pytest.mark.parametrize("changes,message", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors(changes, message):
    errors = sidecar.validate(settings(**changes), ROLE_NAMES)
    assert any(message in error for error in errors), errors
    # Called without the role's names, each error leads with the setting's key.
    for error in sidecar.validate(settings(**changes)):
        assert error.split(":")[0].split("[")[0] in dict(BASE, api_version=None), error
    with pytest.raises(ValueError, match="invalid outbound policy settings"):
        sidecar.definitions(settings(**changes))


def test_all_errors_at_once():
    errors = sidecar.validate(settings(mode="X", namespaces=["A"], hosts=["*"]), ROLE_NAMES)
    assert len(errors) == 3


def _sidecar(namespace, name, owner=None, selector=False):
    obj = {"metadata": {"namespace": namespace, "name": name, "labels": {}}, "spec": {}}
    if owner:
        obj["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": owner}
    if selector:
        obj["spec"]["workloadSelector"] = {"labels": {"app": "x"}}
    return obj


CONFLICT_CASES = [
    ("none", [], []),
    ("ours", [_sidecar("shop", "default", owner="prod")], []),
    ("foreign-namespace-wide", [_sidecar("shop", "team-default")], ["shop/team-default"]),
    ("foreign-with-selector", [_sidecar("shop", "app-x", selector=True)], []),
    ("foreign-with-our-name", [_sidecar("shop", "default", selector=True)], ["shop/default"]),
    ("other-owner-namespace-wide", [_sidecar("shop", "default", owner="staging")], ["shop/default"]),
    ("sorted", [_sidecar("shop", "b"), _sidecar("payments", "a")], ["payments/a", "shop/b"]),
]


@pytest.mark.parametrize("live,expected", [c[1:] for c in CONFLICT_CASES], ids=[c[0] for c in CONFLICT_CASES])
def test_conflicts(live, expected):
    assert sidecar.conflicts(live, "default", "prod") == expected
