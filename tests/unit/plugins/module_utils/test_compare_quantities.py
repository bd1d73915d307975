"""Resource quantities the API server stores in canonical form are no drift
(the real kube-apiserver hands "2000m" back as "2" and "1024Mi" as "1Gi")."""
from fractions import Fraction

import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import quantity_value, resource_quantities
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import plan, prepare


@pytest.mark.parametrize("written,stored", [("2000m", "2"), ("1024Mi", "1Gi"), ("0.5", "500m"), ("1e3", "1k"),
                                            ("1.5Gi", "1536Mi"), ("100m", "100m"), (2, "2")])
def test_equal_amounts_in_other_notations_have_one_value(written, stored):
    assert quantity_value(written) == quantity_value(stored)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "Mi", "1 Gi", "1Gb", True, None])
def test_what_is_no_quantity_has_no_value(text):
    assert quantity_value(text) is None


def test_only_resource_amounts_are_read_as_quantities():
    obj = {"resources": {"limits": {"cpu": "2000m"}, "claims": [{"name": "1k"}]}, "labels": {"size": "1k"}}
    assert resource_quantities(obj) == {"resources": {"limits": {"cpu": Fraction(2)}, "claims": [{"name": "1k"}]},
                                        "labels": {"size": "1k"}}


def deployment(limits):
    container = {"name": "proxy", "image": "auto", "resources": {"limits": limits, "requests": {"cpu": "100m"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gw", "namespace": "istio-system"},
            "spec": {"template": {"spec": {"containers": [container]}}}}


def test_a_deployment_stored_with_canonical_quantities_needs_no_update():
    [desired] = prepare([deployment({"cpu": "2000m", "memory": "1024Mi"})], "eu1")
    [live] = prepare([deployment({"cpu": "2", "memory": "1Gi"})], "eu1")
    live["metadata"]["annotations"] = desired["metadata"]["annotations"]  # as written by the last run
    assert plan([desired], [live], prune=False)["update"] == []


def test_a_changed_amount_is_still_an_update():
    [desired] = prepare([deployment({"cpu": "2000m", "memory": "1024Mi"})], "eu1")
    [live] = prepare([deployment({"cpu": "1", "memory": "1Gi"})], "eu1")
    live["metadata"]["annotations"] = desired["metadata"]["annotations"]  # edited by hand since
    assert len(plan([desired], [live], prune=False)["update"]) == 1
