"""LIST with label and field selectors, across namespaces, paginated, and fast."""
import json
import time

import pytest
from kubernetes import client

from _helpers import status_of, virtual_service
from k8s_server import start_server
from k8s_server.fixtures import ISTIO_CRDS

VS = ("networking.istio.io", "v1")


@pytest.fixture(scope="module")
def labelled():
    """One server for the read-only selector tests (installing CRDs per test would dominate)."""
    if not ISTIO_CRDS.is_file():
        pytest.skip("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    with start_server(crd_file=str(ISTIO_CRDS)) as server:
        server.create_namespace("other")
        custom = client.CustomObjectsApi(server.client())
        for name, labels, namespace in (("a", {"app": "web", "tier": "front"}, "default"),
                                        ("b", {"app": "web", "tier": "back"}, "default"),
                                        ("c", {"app": "db"}, "default"),
                                        ("d", {}, "default"),
                                        ("e", {"app": "web", "tier": "front"}, "other")):
            custom.create_namespaced_custom_object(*VS, namespace, "virtualservices",
                                                   virtual_service(name, labels=labels, namespace=namespace))
        yield custom


def names(custom, namespace="default", **query):
    if namespace is None:
        result = custom.list_cluster_custom_object(*VS, "virtualservices", **query)
    else:
        result = custom.list_namespaced_custom_object(*VS, namespace, "virtualservices", **query)
    assert result["kind"] == "VirtualServiceList" and result["metadata"]["resourceVersion"]
    return [item["metadata"]["name"] for item in result["items"]]


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["a", "b"]),
    ("app==web,tier=front", ["a"]),
    ("app!=web", ["c", "d"]),
    ("app in (web, db)", ["a", "b", "c"]),
    ("tier notin (front)", ["b", "c", "d"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c", "d"]),
    ("app=web,!tier", []),
])
def test_label_selectors(labelled, selector, expected):
    assert names(labelled, label_selector=selector) == expected


def test_all_namespaces_and_field_selectors(labelled):
    assert names(labelled, None, label_selector="tier=front") == ["a", "e"]
    assert names(labelled, None, field_selector="metadata.namespace=other") == ["e"]
    assert names(labelled, field_selector="metadata.name!=a,metadata.name!=b") == ["c", "d"]
    with pytest.raises(client.ApiException) as error:
        names(labelled, field_selector="spec.hosts=x")
    assert status_of(error.value) == (400, "BadRequest", "field label not supported: spec.hosts")


def test_pagination_with_limit_and_continue(labelled):
    first = labelled.list_namespaced_custom_object(*VS, "default", "virtualservices", limit=3)
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b", "c"]
    assert first["metadata"]["remainingItemCount"] == 1
    rest = labelled.list_namespaced_custom_object(*VS, "default", "virtualservices", limit=3,
                                                  _continue=first["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in rest["items"]] == ["d"] and "continue" not in rest["metadata"]


def test_builtin_list_items_and_selectors(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "x", "labels": {"k": "v"}}})
    listed = core.api_client.call_api(*core.api_client.param_serialize(
        "GET", "/api/v1/namespaces/default/configmaps", query_params=[("labelSelector", "k=v")]))
    listed.read()
    body = json.loads(listed.data)
    assert body["kind"] == "ConfigMapList" and [i["metadata"]["name"] for i in body["items"]] == ["x"]
    assert "kind" not in body["items"][0]  # typed lists omit the items' kind, like kube-apiserver
    with pytest.raises(client.ApiException) as error:
        core.list_namespaced_config_map("default", label_selector="k in (v")
    assert error.value.status == 400


def test_listing_a_thousand_custom_objects_with_a_selector_is_fast(k8s_server, custom):
    for i in range(1000):
        custom.create_namespaced_custom_object(*VS, "default", "virtualservices", virtual_service(
            "vs-%04d" % i, labels={"shard": str(i % 10)}))
    k8s_server.reset_counts()
    started = time.perf_counter()
    selected = custom.list_namespaced_custom_object(*VS, "default", "virtualservices", label_selector="shard=3")
    everything = custom.list_namespaced_custom_object(*VS, "default", "virtualservices")
    elapsed = time.perf_counter() - started
    assert len(selected["items"]) == 100 and len(everything["items"]) == 1000
    assert k8s_server.counts()["list"] == 2
    assert elapsed < 1.0, "two LISTs took %.3f s" % elapsed
