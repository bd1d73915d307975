"""meshconfig.set_outbound_policy: a table of mesh configs in and out."""
import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils._meshconfig import (
    MeshConfigError,
    edit,
    set_outbound_policy,
)

HELM_MESH = """\
accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  holdApplicationUntilProxyStarts: true
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
"""

CASES = [
    # (id, input mesh, mode, expected outboundTrafficPolicy, changed, previous mode)
    ("unset-to-registry", HELM_MESH, "REGISTRY_ONLY", {"mode": "REGISTRY_ONLY"}, True, None),
    ("unset-to-allow", HELM_MESH, "ALLOW_ANY", {"mode": "ALLOW_ANY"}, True, None),
    ("allow-to-registry", HELM_MESH + "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n", "REGISTRY_ONLY",
     {"mode": "REGISTRY_ONLY"}, True, "ALLOW_ANY"),
    ("egress-proxy-kept", "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: proxy.corp}\n", "REGISTRY_ONLY",
     {"mode": "REGISTRY_ONLY", "egressProxy": {"host": "proxy.corp"}}, True, "ALLOW_ANY"),
    ("null-policy", "outboundTrafficPolicy:\n", "REGISTRY_ONLY", {"mode": "REGISTRY_ONLY"}, True, None),
    ("scalar-policy", "outboundTrafficPolicy: strict\n", "REGISTRY_ONLY", {"mode": "REGISTRY_ONLY"}, True, None),
    ("empty-string", "", "REGISTRY_ONLY", {"mode": "REGISTRY_ONLY"}, True, None),
    ("none", None, "ALLOW_ANY", {"mode": "ALLOW_ANY"}, True, None),
    ("empty-mapping", "{}", "REGISTRY_ONLY", {"mode": "REGISTRY_ONLY"}, True, None),
]


@pytest.mark.parametrize("source,mode,policy,changed,previous", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_set_outbound_policy(source, mode, policy, changed, previous):
    text, did_change = set_outbound_policy(source, mode, "ConfigMap istio-system/istio")
    assert did_change is changed
    result = yaml.safe_load(text)
    assert result["outboundTrafficPolicy"] == policy
    before = yaml.safe_load(source or "") or {}
    # Every other key survives with its value, in its order.
    others = [key for key in result if key != "outboundTrafficPolicy"]
    assert others == [key for key in before if key != "outboundTrafficPolicy"]
    assert all(result[key] == before[key] for key in others)
    assert edit(source, mode)["previous_mode"] == previous


@pytest.mark.parametrize("source", [
    HELM_MESH + "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n",
    "# hand-written, with a comment\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}  # kept\nenableTracing: true\n",
])
def test_already_set_returns_the_identical_string(source):
    text, changed = set_outbound_policy(source, "REGISTRY_ONLY")
    assert changed is False
    assert text is source


def test_second_pass_is_a_no_op():
    once, changed = set_outbound_policy(HELM_MESH, "REGISTRY_ONLY")
    assert changed
    twice, changed_again = set_outbound_policy(once, "REGISTRY_ONLY")
    assert (twice, changed_again) == (once, False)


def test_values_keep_their_types():
    source = "concurrency: 2\nenableTracing: false\nport: '8080'\nname: 'on'\nprotocolDetectionTimeout: 100ms\n"
    text = set_outbound_policy(source, "REGISTRY_ONLY")[0]
    result = yaml.safe_load(text)
    assert result["concurrency"] == 2 and result["enableTracing"] is False
    assert result["port"] == "8080" and result["name"] == "on" and result["protocolDetectionTimeout"] == "100ms"


@pytest.mark.parametrize("source,message", [
    ("outboundTrafficPolicy: [mode\n", "ConfigMap istio-system/istio: the 'mesh' value is not valid YAML"),
    ("a: b\n  c: d\n", "is not valid YAML"),
    ("- a\n- b\n", "must be a YAML mapping, got list"),
    ("just text", "must be a YAML mapping, got str"),
])
def test_invalid_mesh_names_the_configmap(source, message):
    with pytest.raises(MeshConfigError) as info:
        set_outbound_policy(source, "REGISTRY_ONLY", "ConfigMap istio-system/istio")
    assert message in str(info.value)
    assert "ConfigMap istio-system/istio" in str(info.value)


@pytest.mark.parametrize("mode", ["registry_only", "VIRTUAL_SERVICE_ONLY", "", None, "DENY"])
def test_unknown_mode_is_refused(mode):
    with pytest.raises(MeshConfigError, match="REGISTRY_ONLY or ALLOW_ANY"):
        set_outbound_policy(HELM_MESH, mode)
