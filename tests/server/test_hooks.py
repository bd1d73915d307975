"""Test hooks: on_create plays the controller or kubelet acting on a new object."""
from kubernetes import client


def test_on_create_callback_sees_the_new_pod_and_its_answer_replaces_the_stored_object(k8s_server_bare, core):
    seen = []

    def kubelet(pod):
        seen.append(pod)
        k8s_server_bare.set_pod_log("default", pod["metadata"]["name"], "done\n")
        pod["status"]["phase"] = "Succeeded"
        return pod

    k8s_server_bare.on_create("pods", kubelet)
    created = core.create_namespaced_pod("default", {"metadata": {"generateName": "job-"},
                                                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    assert created.status.phase == "Running"  # the create's answer is what was stored first
    [pod] = seen
    assert pod["metadata"]["name"] == created.metadata.name and pod["status"]["podIP"] == created.status.pod_ip
    read = core.read_namespaced_pod(created.metadata.name, "default")
    assert read.status.phase == "Succeeded"
    assert int(read.metadata.resource_version) > int(created.metadata.resource_version)
    assert core.read_namespaced_pod_log(created.metadata.name, "default") == "done\n"


def test_on_create_ignores_other_kinds_dry_runs_and_a_callback_returning_none(k8s_server_bare, core):
    calls = []
    k8s_server_bare.on_create("pods", calls.append)  # returns None: nothing replaced
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    body = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    core.create_namespaced_pod("default", body, dry_run="All")
    assert calls == []
    created = core.create_namespaced_pod("default", body)
    assert [pod["metadata"]["name"] for pod in calls] == ["p"]
    read = client.CoreV1Api(k8s_server_bare.client()).read_namespaced_pod("p", "default")
    assert read.metadata.resource_version == created.metadata.resource_version
