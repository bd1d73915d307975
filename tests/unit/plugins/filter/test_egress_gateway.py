"""The egress_gateway filters: registered names, and errors as AnsibleFilterError."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.filter.egress_gateway import FilterModule

FILTERS = FilterModule().filters()
SETTINGS = {"name": "istio-egressgateway", "namespace": "istio-system", "selector": {"istio": "egressgateway"},
            "revision": "", "extra_ports": [], "min_replicas": "1", "max_replicas": "5", "cpu_target": "80", "resources": None}


def test_names():
    assert sorted(FILTERS) == sorted([
        "egress_gateway_errors", "egress_gateway_definitions", "egress_gateway_istio_operator", "egress_gateway_helm_values",
        "egress_gateway_istioctl_argv", "egress_gateway_token_kubeconfig",
        "egress_gateway_prune_scope"])


def test_survey_strings_are_coerced():
    hpa = [o for o in FILTERS["egress_gateway_definitions"](SETTINGS) if o["kind"] == "HorizontalPodAutoscaler"][0]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)
    assert FILTERS["egress_gateway_errors"](SETTINGS) == []
    # The role passes its variables' names.
    assert FILTERS["egress_gateway_errors"](dict(SETTINGS, name="X"), {"name": "egress_gateway_name"})[0].startswith(
        "egress_gateway_name: 'X'")


@pytest.mark.parametrize("name", ["egress_gateway_definitions", "egress_gateway_istio_operator", "egress_gateway_helm_values"])
def test_bad_settings_raise_filter_errors(name):
    with pytest.raises(AnsibleFilterError, match="name: 'Bad_Name'"):
        FILTERS[name](dict(SETTINGS, name="Bad_Name"))
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        FILTERS[name](["not", "a", "dict"])


def test_istioctl_argv():
    assert FILTERS["egress_gateway_istioctl_argv"]("/usr/bin/istioctl", ("a.yaml",)) == ["/usr/bin/istioctl", "install", "-y", "-f", "a.yaml"]
