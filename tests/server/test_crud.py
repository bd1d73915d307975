"""Create, read, replace, delete and list, through the typed and dynamic clients."""
import pytest
from kubernetes import client

from _helpers import status_of, virtual_service
from k8s_server import start_server


def configmap(name, labels=None, data=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def test_create_get_and_system_metadata(core):
    created = core.create_namespaced_config_map("default", configmap("one", {"app": "x"}))
    meta = core.read_namespaced_config_map("one", "default").metadata
    assert meta.uid == created.metadata.uid and meta.labels == {"app": "x"}
    assert meta.creation_timestamp is not None and int(meta.resource_version) > 0


def test_resource_versions_grow_globally(core):
    first = core.create_namespaced_config_map("default", configmap("a")).metadata.resource_version
    second = core.create_namespaced_secret("default", {"metadata": {"name": "s"}}).metadata.resource_version
    listed = core.list_namespaced_config_map("default").metadata.resource_version
    assert int(first) < int(second) <= int(listed)


def test_create_conflicts_and_missing_namespace(core):
    core.create_namespaced_config_map("default", configmap("dup"))
    with pytest.raises(client.ApiException) as error:
        core.create_namespaced_config_map("default", configmap("dup"))
    assert status_of(error.value) == (409, "AlreadyExists", 'configmaps "dup" already exists')
    with pytest.raises(client.ApiException) as error:
        core.create_namespaced_config_map("missing", configmap("x"))
    assert status_of(error.value) == (404, "NotFound", 'namespaces "missing" not found')


def test_namespaces_start_like_a_cluster_and_are_populated(core):
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public"} <= names
    core.create_namespace({"metadata": {"name": "team-a"}})
    assert core.read_namespace("team-a").status.phase == "Active"
    assert [s.metadata.name for s in core.list_namespaced_service_account("team-a").items] == ["default"]


def test_deleting_a_namespace_deletes_its_objects(core, k8s_server_bare):
    core.create_namespace({"metadata": {"name": "gone"}})
    core.create_namespaced_config_map("gone", configmap("c"))
    core.delete_namespace("gone")
    assert k8s_server_bare.objects(namespace="gone") == []
    with pytest.raises(client.ApiException) as error:
        core.delete_namespace("default")
    assert status_of(error.value)[:2] == (403, "Forbidden")


def test_replace_requires_a_fresh_resource_version(core):
    created = core.create_namespaced_config_map("default", configmap("r"))
    body = configmap("r", data={"k": "new"})
    body["metadata"]["resourceVersion"] = created.metadata.resource_version
    replaced = core.replace_namespaced_config_map("r", "default", body)
    assert replaced.data == {"k": "new"}
    with pytest.raises(client.ApiException) as error:
        core.replace_namespaced_config_map("r", "default", body)  # stale now
    code, reason, message = status_of(error.value)
    assert (code, reason) == (409, "Conflict") and "the object has been modified" in message
    with pytest.raises(client.ApiException) as error:
        core.replace_namespaced_config_map("absent", "default", configmap("absent"))
    assert error.value.status == 404


def test_noop_replace_keeps_the_resource_version(core):
    created = core.create_namespaced_config_map("default", configmap("same"))
    again = core.replace_namespaced_config_map("same", "default", configmap("same"))
    assert again.metadata.resource_version == created.metadata.resource_version


def test_custom_resources_refuse_unconditional_replace(custom):
    custom.create_namespaced_custom_object("networking.istio.io", "v1", "default", "virtualservices",
                                           virtual_service("u"))
    with pytest.raises(client.ApiException) as error:
        custom.replace_namespaced_custom_object("networking.istio.io", "v1", "default", "virtualservices", "u",
                                                virtual_service("u"))
    assert status_of(error.value)[2] == ('VirtualService.networking.istio.io "u" is invalid: '
                                         'metadata.resourceVersion: Invalid value: 0x0: must be specified for '
                                         'an update')


def test_generation_follows_spec_changes(custom):
    group = ("networking.istio.io", "v1", "default", "virtualservices")
    created = custom.create_namespaced_custom_object(*group, virtual_service("g", labels={"a": "1"}))
    assert created["metadata"]["generation"] == 1
    relabeled = custom.patch_namespaced_custom_object(*group, "g", {"metadata": {"labels": {"a": "2"}}})
    assert relabeled["metadata"]["generation"] == 1
    respecced = custom.patch_namespaced_custom_object(*group, "g", {"spec": {"hosts": ["other"]}})
    assert respecced["metadata"]["generation"] == 2


def test_status_subresource_is_separate(custom):
    group = ("networking.istio.io", "v1", "default", "virtualservices")
    custom.create_namespaced_custom_object(*group, dict(virtual_service("s"), status={"observedGeneration": 9}))
    assert "status" not in custom.get_namespaced_custom_object(*group, "s")
    custom.patch_namespaced_custom_object_status(*group, "s", {"status": {"observedGeneration": 1}})
    custom.patch_namespaced_custom_object(*group, "s", {"spec": {"hosts": ["x"]}, "status": {"observedGeneration": 5}})
    assert custom.get_namespaced_custom_object(*group, "s")["status"] == {"observedGeneration": 1}


def test_delete_answers_status_or_object(core):
    core.create_namespaced_config_map("default", configmap("d"))
    deleted = core.delete_namespaced_config_map("d", "default", propagation_policy="Foreground")
    assert deleted["status"] == "Success" and deleted["details"]["name"] == "d"
    with pytest.raises(client.ApiException) as error:
        core.delete_namespaced_config_map("d", "default")
    assert status_of(error.value) == (404, "NotFound", 'configmaps "d" not found')
    core.create_namespaced_service_account("default", {"metadata": {"name": "sa"}})
    assert core.delete_namespaced_service_account("sa", "default").metadata.name == "sa"


def test_finalizers_hold_deletion_until_removed(core):
    held = dict(configmap("f"), metadata={"name": "f", "finalizers": ["x/y"]})
    core.create_namespaced_config_map("default", held)
    core.delete_namespaced_config_map("f", "default")
    assert core.read_namespaced_config_map("f", "default").metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("f", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException):
        core.read_namespaced_config_map("f", "default")


def test_generate_name(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert created.metadata.name.startswith("gen-") and len(created.metadata.name) == 9


def test_deployment_status_is_filled_as_ready(k8s_server_bare):
    apps = client.AppsV1Api(k8s_server_bare.client())
    body = {"metadata": {"name": "web"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "n:1"}]}}}}
    created = apps.create_namespaced_deployment("default", body)
    assert (created.status.ready_replicas, created.status.available_replicas) == (3, 3)
    scaled = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 5}})
    assert scaled.status.ready_replicas == 5
    assert scaled.status.observed_generation == scaled.metadata.generation == 2
    body["spec"]["replicas"] = 5
    again = apps.replace_namespaced_deployment("web", "default", body)  # no change: status is deterministic
    assert again.metadata.resource_version == scaled.metadata.resource_version
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    body["metadata"]["name"] = "bad"
    with pytest.raises(client.ApiException) as error:
        apps.create_namespaced_deployment("default", body)
    assert "selector` does not match template `labels`" in status_of(error.value)[2]


def test_pod_log_text_is_set_by_the_test(k8s_server_bare, core):
    core.create_namespaced_pod("default", {"metadata": {"name": "p"},
                                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    k8s_server_bare.set_pod_log("default", "p", "line 1\nline 2\n")
    assert core.read_namespaced_pod_log("p", "default") == "line 1\nline 2\n"
    assert core.read_namespaced_pod_log("p", "default", tail_lines=1) == "line 2\n"
    assert core.read_namespaced_pod("p", "default").status.phase == "Running"


def test_other_builtin_kinds_round_trip(k8s_server_bare):
    api = k8s_server_bare.client()
    rbac, policy = client.RbacAuthorizationV1Api(api), client.PolicyV1Api(api)
    rbac.create_cluster_role({"metadata": {"name": "system:reader"},
                              "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding("default", {
        "metadata": {"name": "rb"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]})
    policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": "pdb"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}}})
    client.AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler("default", {
        "metadata": {"name": "hpa"}, "spec": {"maxReplicas": 3, "scaleTargetRef": {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "AverageValue", "averageValue": "1"}}}]}})
    client.NetworkingV1Api(api).create_namespaced_network_policy("default", {
        "metadata": {"name": "np"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
    service = client.CoreV1Api(api).create_namespaced_service("default", {
        "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}})
    assert service.spec.cluster_ip.startswith("10.96.") and service.spec.ports[0].target_port == 80
    assert {o["kind"] for o in k8s_server_bare.objects(namespace="default")} >= {
        "RoleBinding", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Service"}


def test_auto_create_namespaces_option():
    with start_server(auto_create_namespaces=True) as server:
        core = client.CoreV1Api(server.client())
        core.create_namespaced_config_map("fresh", configmap("c"))
        assert core.read_namespace("fresh").status.phase == "Active"


def test_crd_names_are_validated(k8s_server_bare):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "wrong.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "things", "kind": "Thing"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    with pytest.raises(client.ApiException) as error:
        k8s_server_bare.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert status_of(error.value)[2] == ('CustomResourceDefinition.apiextensions.k8s.io "wrong.example.com" is '
                                         'invalid: metadata.name: Invalid value: "wrong.example.com": must be '
                                         'spec.names.plural+"."+spec.group')


def test_delete_collection_by_label(core, k8s_server_bare):
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map("default", configmap(name, {"team": team}))
    deleted = k8s_server_bare.request("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=team%3Dx")
    assert deleted["kind"] == "ConfigMapList" and [i["metadata"]["name"] for i in deleted["items"]] == ["a", "b"]
    core.delete_collection_namespaced_config_map("default", label_selector="team=y")
    left = [o["metadata"]["name"] for o in k8s_server_bare.objects("configmaps", "default")]
    assert not {"a", "b", "c"} & set(left)


def test_resource_version_on_create_is_refused(core):
    with pytest.raises(client.ApiException) as error:
        core.create_namespaced_config_map("default", {"metadata": {"name": "x", "resourceVersion": "5"}})
    assert status_of(error.value)[::2] == (500, "resourceVersion should not be set on objects to be created")
