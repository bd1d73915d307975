"""Discovery as the python client and kubernetes.core's LazyDiscoverer read it."""
import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from _helpers import virtual_service

TEST_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]},
}


def test_version_and_core_group(k8s_server_bare):
    api = k8s_server_bare.client()
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"namespaces", "configmaps", "secrets", "services", "serviceaccounts", "pods", "pods/log"} <= set(resources)
    assert resources["namespaces"].namespaced is False and resources["configmaps"].short_names == ["cm"]
    assert resources["pods/log"].verbs == ["get"]


def test_builtin_groups_are_listed(k8s_server_bare):
    groups = {g.name: g for g in client.ApisApi(k8s_server_bare.client()).get_api_versions().groups}
    assert {"apps", "rbac.authorization.k8s.io", "policy", "autoscaling", "networking.k8s.io",
            "apiextensions.k8s.io"} <= set(groups)
    assert groups["autoscaling"].preferred_version.group_version == "autoscaling/v2"


def test_istio_kinds_are_discoverable_with_all_served_versions(k8s_server):
    dynamic = DynamicClient(k8s_server.client())
    for version in ("v1", "v1beta1", "v1alpha3"):
        resource = dynamic.resources.get(api_version="networking.istio.io/" + version, kind="VirtualService")
        assert resource.namespaced and resource.name == "virtualservices" and resource.short_names == ["vs"]
        assert "status" in resource.subresources
    groups = {g.name: g for g in client.ApisApi(k8s_server.client()).get_api_versions().groups}
    assert groups["networking.istio.io"].preferred_version.version == "v1"
    assert [v.version for v in groups["networking.istio.io"].versions] == ["v1", "v1beta1", "v1alpha3"]


def test_crd_registered_later_appears_and_disappears(k8s_server_bare, tmp_path):
    api = k8s_server_bare.client()
    dynamic = DynamicClient(api, cache_file=str(tmp_path / "cache.json"))
    with pytest.raises(ResourceNotFoundError):
        dynamic.resources.get(api_version="example.com/v1", kind="Widget")
    k8s_server_bare.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", TEST_CRD)
    widgets = dynamic.resources.get(api_version="example.com/v1", kind="Widget")  # cache miss refreshes
    widgets.create(namespace="default", body={"apiVersion": "example.com/v1", "kind": "Widget",
                                              "metadata": {"name": "w"}, "spec": {"size": 3}})
    assert widgets.get(namespace="default", name="w").spec.size == 3

    client.ApiextensionsV1Api(api).delete_custom_resource_definition("widgets.example.com")
    assert "example.com" not in [g.name for g in client.ApisApi(api).get_api_versions().groups]
    assert k8s_server_bare.objects("widgets") == []


def test_served_versions_share_one_stored_object(k8s_server, dynamic):
    dynamic.resources.get(api_version="networking.istio.io/v1", kind="VirtualService").create(
        body=virtual_service("multi"), namespace="default")
    old = dynamic.resources.get(api_version="networking.istio.io/v1alpha3", kind="VirtualService")
    assert old.get(name="multi", namespace="default").apiVersion == "networking.istio.io/v1alpha3"
    assert [o["apiVersion"] for o in k8s_server.objects("virtualservices")] == ["networking.istio.io/v1"]


def test_unknown_paths_are_404_status(k8s_server_bare):
    for path in ("/apis/nope.example.com/v1", "/apis/apps/v1/nothings", "/api/v1/namespaces/default/nope/x"):
        with pytest.raises(client.ApiException) as error:
            k8s_server_bare.request("GET", path)
        assert error.value.status == 404
