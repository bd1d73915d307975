"""The outbound_policy filters: registered names, results, errors as AnsibleFilterError."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.filter.outbound_policy import FilterModule

FILTERS = FilterModule().filters()


def test_names():
    assert sorted(FILTERS) == sorted([
        "mesh_outbound_policy", "outbound_policy_errors", "outbound_policy_sidecars", "outbound_policy_sidecar_conflicts"])


@pytest.mark.parametrize("mesh,mode,differs,previous", [
    ("enableTracing: true\n", "REGISTRY_ONLY", True, None),
    ("outboundTrafficPolicy:\n  mode: ALLOW_ANY\n", "REGISTRY_ONLY", True, "ALLOW_ANY"),
    ("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n", "REGISTRY_ONLY", False, "REGISTRY_ONLY"),
])
def test_mesh_outbound_policy(mesh, mode, differs, previous):
    result = FILTERS["mesh_outbound_policy"](mesh, mode, source="ConfigMap istio-system/istio")
    assert result["differs"] is differs and result["previous_mode"] == previous
    assert ("mode: " + mode) in result["mesh"]
    if not differs:
        assert result["mesh"] == mesh


class Tagged(str):
    """Like the str subclasses Ansible 2.19 passes to filters."""


def test_tagged_strings_from_ansible_are_accepted():
    result = FILTERS["mesh_outbound_policy"](Tagged("enableTracing: true\n"), Tagged("REGISTRY_ONLY"), source=Tagged("x"))
    assert result["differs"] is True and "mode: REGISTRY_ONLY" in result["mesh"]


def test_invalid_mesh_is_a_filter_error_naming_the_configmap():
    with pytest.raises(AnsibleFilterError, match="ConfigMap istio-system/istio-canary: the 'mesh' value is not valid YAML"):
        FILTERS["mesh_outbound_policy"]("a: [", "REGISTRY_ONLY", source="ConfigMap istio-system/istio-canary")


def test_sidecars_and_errors():
    settings = {"namespaces": ["shop"], "mode": "ALLOW_ANY", "name": "default", "istio_namespace": "istio-system",
                "gateway_namespace": "istio-system", "hosts": [], "hosts_namespace": ""}
    [obj] = FILTERS["outbound_policy_sidecars"](settings)
    assert obj["spec"]["outboundTrafficPolicy"] == {"mode": "ALLOW_ANY"}
    assert FILTERS["outbound_policy_errors"](settings) == []
    with pytest.raises(AnsibleFilterError, match="mode: Istio accepts only"):
        FILTERS["outbound_policy_sidecars"](dict(settings, mode="DENY"))
    assert FILTERS["outbound_policy_errors"](dict(settings, mode="DENY"), {"mode": "outbound_policy_mode"})[0].startswith(
        "outbound_policy_mode: Istio accepts only")
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        FILTERS["outbound_policy_errors"]("shop")
