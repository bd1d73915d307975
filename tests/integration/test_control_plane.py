"""The test control plane does what the other tests rely on: a real API server that
counts requests per identity, enforces RBAC and Istio's schemas, injects faults
through its proxy, serves pod logs from the kubelet stand-in, and is wiped clean
between tests."""
import time

import kubernetes
import pytest

from control_plane import TEST_USER

SE_PATH = "/apis/networking.istio.io/v1/namespaces/istio-system/serviceentries"


def service_entry(name, **spec):
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": name, "namespace": "istio-system"},
            "spec": dict({"hosts": ["%s.example.com" % name], "resolution": "DNS",
                          "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}, **spec)}


def api_client(kubeconfig):
    """A client that does not retry by itself, so each request is one request."""
    client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return client


def api_as(kubeconfig):
    return kubernetes.dynamic.DynamicClient(api_client(kubeconfig))


def test_the_api_server_is_the_real_one_with_istios_crds(apiserver):
    assert apiserver.request("GET", "/version")["gitVersion"].startswith("v1.37.")
    crds = apiserver.objects("customresourcedefinitions")
    established = [c["metadata"]["name"] for c in crds
                   if {"type": "Established", "status": "True"} in
                   [{"type": c_["type"], "status": c_["status"]} for c_ in c["status"]["conditions"]]]
    assert "serviceentries.networking.istio.io" in established and len(established) == len(crds)


def test_istios_cel_rules_are_enforced(apiserver):
    # A CEL rule of Istio's ServiceEntry CRD: port numbers are unique.
    ports = [{"number": 80, "name": "http", "protocol": "HTTP"}, {"number": 80, "name": "http2", "protocol": "HTTP2"}]
    with pytest.raises(kubernetes.client.ApiException) as refused:
        apiserver.request("POST", SE_PATH, service_entry("twice", ports=ports))
    assert refused.value.status == 422 and "port number cannot be duplicated" in refused.value.body


def test_requests_are_counted_per_identity_from_the_audit_log(apiserver):
    client = api_as(apiserver.kubeconfig).resources.get(api_version="networking.istio.io/v1", kind="ServiceEntry")
    client.create(body=service_entry("counted"), namespace="istio-system")
    client.create(body=service_entry("dry"), namespace="istio-system", query_params=[("dryRun", "All")])
    client.get(name="counted", namespace="istio-system")
    apiserver.request("GET", SE_PATH)  # the fixture's admin: not counted

    counts = apiserver.counts()
    assert (counts["create"], counts["dry_run"], counts["get"], counts["writes"]) == (1, 1, 1, 1)
    assert {r["user"] for r in apiserver.requests} == {TEST_USER}
    assert apiserver.counts(user="someone-else")["requests"] == 0
    apiserver.reset_counts()
    assert apiserver.counts()["requests"] == 0


def test_rbac_is_enforced_for_a_minted_user(apiserver):
    kubeconfig = apiserver.user_kubeconfig("nobody", groups=())
    with pytest.raises(kubernetes.client.ApiException) as refused:
        api_as(kubeconfig).resources.get(api_version="v1", kind="ConfigMap").get(namespace="istio-system")
    assert refused.value.status == 403
    assert [(r["verb"], r["status"]) for r in apiserver.requests_of("nobody") if r["verb"] != "discovery"] == [("list", 403)]


def test_a_service_account_token_from_token_request_authenticates(apiserver):
    apiserver.request("POST", "/api/v1/namespaces/istio-system/serviceaccounts",
                      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
    token = apiserver.service_account_token("istio-system", "robot")
    kubeconfig = apiserver.write_kubeconfig(str(apiserver.workdir) + "/robot.kubeconfig", token=token)
    with pytest.raises(kubernetes.client.ApiException) as refused:
        api_as(kubeconfig).resources.get(api_version="v1", kind="Secret").get(namespace="istio-system")
    assert refused.value.status == 403
    assert apiserver.requests_of("system:serviceaccount:istio-system:robot")


@pytest.mark.parametrize("fault, expected", [
    (dict(status=500), 500),
    (dict(status=503, retry_after=2), 503),
    (dict(status=409), 409),
])
def test_the_proxy_injects_an_error_once_and_then_forwards(apiserver, fault, expected):
    injected = apiserver.inject_fault({"verb": "list", "plural": "serviceentries"}, **fault)
    client = api_as(apiserver.proxied_kubeconfig).resources.get(api_version="networking.istio.io/v1", kind="ServiceEntry")
    with pytest.raises(kubernetes.client.ApiException) as failed:
        client.get(namespace="istio-system")
    assert failed.value.status == expected
    if fault.get("retry_after"):
        assert failed.value.headers["Retry-After"] == "2"
    assert client.get(namespace="istio-system").items == []
    assert injected.hits == 1
    # the faulted request never reached the API server
    assert [r["verb"] for r in apiserver.requests if r["plural"] == "serviceentries"] == ["list"]


def test_the_proxy_drops_a_connection_and_delays_an_answer(apiserver):
    apiserver.inject_fault({"verb": "get", "name": "dropped"}, status=None, drop=True)
    apiserver.inject_fault({"verb": "get", "name": "slow"}, status=None, delay=1.0)
    core = kubernetes.client.CoreV1Api(api_client(apiserver.proxied_kubeconfig))
    with pytest.raises(Exception) as dropped:
        core.read_namespaced_config_map("dropped", "istio-system", _request_timeout=5)
    assert not isinstance(dropped.value, kubernetes.client.ApiException)  # no answer at all
    started = time.monotonic()
    with pytest.raises(kubernetes.client.ApiException) as slow:
        core.read_namespaced_config_map("slow", "istio-system", _request_timeout=5)
    assert slow.value.status == 404 and time.monotonic() - started >= 1.0


def test_added_latency_applies_to_every_request(apiserver):
    core = kubernetes.client.CoreV1Api(api_client(apiserver.proxied_kubeconfig))
    core.list_namespace()
    apiserver.set_latency(0.2)
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started >= 0.2


def test_pod_logs_come_from_the_kubelet_stand_in_through_the_api(apiserver):
    apiserver.request("POST", "/api/v1/namespaces/istio-system/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]}})
    apiserver.set_pod_log("istio-system", "talker", "hello from the stand-in\n")
    core = kubernetes.client.CoreV1Api(api_client(apiserver.kubeconfig))
    assert core.read_namespaced_pod_log("talker", "istio-system") == "hello from the stand-in\n"
    assert [(r["subresource"], r["status"]) for r in apiserver.requests if r["verb"] == "get"] == [("log", 200)]


def test_deployments_are_reported_rolled_out_by_the_stand_in(apiserver):
    labels = {"app": "x"}
    apiserver.roll_out_deployments()
    apiserver.request("POST", "/apis/apps/v1/namespaces/istio-system/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    deadline = time.monotonic() + 10
    while apiserver.get("deployments", "istio-system", "x").get("status", {}).get("readyReplicas") != 2:
        assert time.monotonic() < deadline, "not rolled out"
        time.sleep(0.1)


def test_wipe_removes_what_a_test_created_and_restores_namespace_labels(control_plane):
    control_plane.create_namespace("scratch")
    control_plane.create_namespace("istio-system")
    control_plane.request("POST", SE_PATH, service_entry("leftover"))
    control_plane.request("POST", "/api/v1/namespaces/scratch/configmaps",
                          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    control_plane.request("PATCH", "/api/v1/namespaces/default", {"metadata": {"labels": {"istio-injection": "enabled"}}},
                          content_type="application/merge-patch+json")
    control_plane.wipe()
    names = [n["metadata"]["name"] for n in control_plane.objects("namespaces")]
    assert "scratch" not in names and "istio-system" not in names
    assert control_plane.objects("serviceentries") == [] and control_plane.objects("configmaps", "scratch") == []
    assert "istio-injection" not in control_plane.get("namespaces", None, "default")["metadata"]["labels"]
    # a namespace created again starts empty: its old objects are gone from etcd too
    control_plane.create_namespace("scratch")
    assert control_plane.objects("configmaps", "scratch") == []
    control_plane.wipe()
