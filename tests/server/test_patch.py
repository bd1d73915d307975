"""PATCH in its four content types, as the dynamic client sends them."""
import pytest
from kubernetes.dynamic.exceptions import DynamicApiError

from _helpers import status_of, virtual_service


def deployment(name, containers):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}


@pytest.fixture
def deployments(dynamic):
    return dynamic.resources.get(api_version="apps/v1", kind="Deployment")


@pytest.fixture
def virtual_services(dynamic):
    return dynamic.resources.get(api_version="networking.istio.io/v1", kind="VirtualService")


def test_strategic_merge_merges_containers_by_name(deployments):
    deployments.create(body=deployment("web", [{"name": "app", "image": "app:1"},
                                               {"name": "proxy", "image": "proxy:1"}]), namespace="default")
    patched = deployments.patch(name="web", namespace="default", body={"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "app:2"}]}}}})  # strategic merge is the default
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"app": "app:2", "proxy": "proxy:1"}
    deleted = deployments.patch(name="web", namespace="default", body={"spec": {"template": {"spec": {
        "containers": [{"name": "proxy", "$patch": "delete"}]}}}})
    assert [c.name for c in deleted.spec.template.spec.containers] == ["app"]


def test_merge_patch_replaces_lists_and_deletes_with_null(deployments):
    deployments.create(body=deployment("m", [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]),
                       namespace="default")
    patched = deployments.patch(name="m", namespace="default", content_type="application/merge-patch+json",
                                body={"metadata": {"labels": {"x": "1"}}, "spec": {"template": {"spec": {
                                    "containers": [{"name": "a", "image": "a:2"}]}}}})
    assert [c.image for c in patched.spec.template.spec.containers] == ["a:2"]
    unlabeled = deployments.patch(name="m", namespace="default", content_type="application/merge-patch+json",
                                  body={"metadata": {"labels": {"x": None}}})
    assert not unlabeled.metadata.labels


def test_json_patch_operations_and_failed_test(virtual_services):
    virtual_services.create(body=virtual_service("j"), namespace="default")
    patched = virtual_services.patch(name="j", namespace="default", content_type="application/json-patch+json",
                                     body=[{"op": "add", "path": "/spec/hosts/-", "value": "two.example.com"},
                                           {"op": "replace", "path": "/spec/http/0/route/0/destination/host",
                                            "value": "b"},
                                           {"op": "test", "path": "/spec/hosts/0", "value": "j.example.com"}])
    assert patched.spec.hosts == ["j.example.com", "two.example.com"]
    assert patched.spec.http[0].route[0].destination.host == "b"
    with pytest.raises(DynamicApiError) as error:
        virtual_services.patch(name="j", namespace="default", content_type="application/json-patch+json",
                               body=[{"op": "test", "path": "/spec/hosts/0", "value": "nope"}])
    assert error.value.status == 422


def test_strategic_merge_is_refused_for_custom_resources(virtual_services):
    virtual_services.create(body=virtual_service("s"), namespace="default")
    with pytest.raises(DynamicApiError) as error:
        virtual_services.patch(name="s", namespace="default", body={"spec": {"hosts": ["x"]}})
    code, reason, message = status_of(error.value)
    assert (code, reason) == (415, "UnsupportedMediaType")
    assert "application/merge-patch+json" in message and "strategic" not in message


def test_patch_of_absent_object_is_404(virtual_services):
    with pytest.raises(DynamicApiError) as error:
        virtual_services.patch(name="none", namespace="default", content_type="application/merge-patch+json",
                               body={"spec": {"hosts": ["x"]}})
    assert error.value.status == 404


def test_server_side_apply_creates_merges_and_forgets_dropped_fields(k8s_server, virtual_services):
    first = virtual_service("ssa", labels={"a": "1", "b": "2"})
    created = virtual_services.server_side_apply(body=first, namespace="default", field_manager="tool")
    assert created.to_dict()["metadata"]["labels"] == {"a": "1", "b": "2"}
    # Another writer's label survives the tool's re-apply; the tool's dropped label goes.
    virtual_services.patch(name="ssa", namespace="default", content_type="application/merge-patch+json",
                           body={"metadata": {"labels": {"other": "x"}}})
    second = virtual_service("ssa", labels={"a": "1"}, spec={"hosts": ["new.example.com"]})
    applied = virtual_services.server_side_apply(body=second, namespace="default", field_manager="tool",
                                                 force_conflicts=True)
    assert applied.to_dict()["metadata"]["labels"] == {"a": "1", "other": "x"}
    assert applied.spec.hosts == ["new.example.com"] and applied.metadata.generation == 2
    assert [r["status"] for r in k8s_server.requests if r["verb"] == "patch"] == [201, 200, 200]


def test_server_side_apply_needs_a_field_manager_and_known_fields(k8s_server):
    path = "/apis/networking.istio.io/v1/namespaces/default/virtualservices/x"
    with pytest.raises(Exception) as error:
        k8s_server.request("PATCH", path, virtual_service("x"), content_type="application/apply-patch+yaml")
    assert status_of(error.value)[0] == 422
    body = virtual_service("x", spec={"hosts": ["a"], "bogus": 1})
    with pytest.raises(Exception) as error:
        k8s_server.request("PATCH", path + "?fieldManager=t", body, content_type="application/apply-patch+yaml")
    code, _reason, message = status_of(error.value)
    assert code == 400 and ".spec.bogus: field not declared in schema" in message


def test_patch_with_stale_resource_version_conflicts(virtual_services):
    created = virtual_services.create(body=virtual_service("rv"), namespace="default")
    stale = created.metadata.resourceVersion
    virtual_services.patch(name="rv", namespace="default", content_type="application/merge-patch+json",
                           body={"spec": {"hosts": ["a"]}})
    with pytest.raises(DynamicApiError) as error:
        virtual_services.patch(name="rv", namespace="default", content_type="application/merge-patch+json",
                               body={"metadata": {"resourceVersion": stale}, "spec": {"hosts": ["b"]}})
    assert status_of(error.value)[:2] == (409, "Conflict")
