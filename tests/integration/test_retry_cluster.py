"""The retry policy where it meets the API: k8s_glue.Cluster and object_apply
in-process against the test control plane, faults injected by its proxy (the
paths the site.yml fault tests cannot force: an applied create whose answer
was lost, a conflicting delete). A request the proxy answers itself never
reaches the API server: it shows in the fault's hits, not in the audit log."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, Cluster
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_apply import apply_object_set

NS = "istio-system"
OWNER = "unit"


def service_entry(name, host):
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": name, "namespace": NS},
            "spec": {"hosts": [host], "ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"}],
                     "resolution": "DNS", "location": "MESH_EXTERNAL"}}


@pytest.fixture
def cluster(apiserver):
    return Cluster({"kubeconfig": apiserver.proxied_kubeconfig, "request_timeout": 2})


def apply(cluster, *bodies):
    scope = [{"api_version": "networking.istio.io/v1", "kind": "ServiceEntry", "namespace": NS}]
    return apply_object_set(cluster, list(bodies), OWNER, prune=True, prune_scope=scope)


def stored(server):
    return sorted(o["metadata"]["name"] for o in server.objects("serviceentries", NS))


def test_a_create_applied_but_unanswered_is_read_back_not_duplicated(apiserver, cluster):
    # The first POST stalls past the client's timeout and lands later; the repeat
    # (slowed too) arrives after it and finds the name taken: the API server
    # answers both, 201 to nobody and 409 AlreadyExists to the repeat.
    first = apiserver.inject_fault({"verb": "create"}, status=None, delay=2.6)
    repeat = apiserver.inject_fault({"verb": "create"}, status=None, delay=1.3)
    result = apply(cluster, service_entry("a", "a.example.com"))
    assert (first.hits, repeat.hits) == (1, 1)
    assert [r["status"] for r in apiserver.requests if r["verb"] == "create"] == [201, 409]
    assert result["created"] == ["ServiceEntry/istio-system/a"] and stored(apiserver) == ["a"]


def test_a_conflicting_create_re_reads_and_creates(apiserver, cluster):
    fault = apiserver.inject_fault({"verb": "create"}, status=409)
    assert apply(cluster, service_entry("a", "a.example.com"))["created"] == ["ServiceEntry/istio-system/a"]
    assert fault.hits == 1 and stored(apiserver) == ["a"]
    # the proxy answered the first POST; the API server saw only the second
    assert [r["status"] for r in apiserver.requests if r["verb"] == "create"] == [201]


def test_a_conflicting_delete_re_reads_and_deletes_what_is_still_ours(apiserver, cluster):
    apply(cluster, service_entry("a", "a.example.com"), service_entry("b", "b.example.com"))
    apiserver.reset_counts()
    fault = apiserver.inject_fault({"verb": "delete"}, status=409)
    assert apply(cluster, service_entry("a", "a.example.com"))["deleted"] == ["ServiceEntry/istio-system/b"]
    assert fault.hits == 1 and stored(apiserver) == ["a"]
    assert [(r["name"], r["status"]) for r in apiserver.requests if r["verb"] == "delete"] == [("b", 200)]


@pytest.mark.parametrize("fault", [dict(status=500), dict(status=503, retry_after=0), dict(status=None, drop=True),
                                   dict(status=None, delay=2.5)], ids=["500", "503", "dropped", "timeout"])
def test_transient_read_faults_are_retried(apiserver, cluster, fault):
    injected = apiserver.inject_fault({"verb": "list"}, times=2, **fault)
    assert apply(cluster, service_entry("a", "a.example.com"))["created"] == ["ServiceEntry/istio-system/a"]
    assert injected.hits == 2


@pytest.mark.parametrize("fault,expected", [
    (dict(status=503, retry_after=0), "list ServiceEntry in istio-system failed (503 ServiceUnavailable): injected fault "
                                      "(ServiceUnavailable) (after 4 attempts)"),
    (dict(status=None, drop=True), "list ServiceEntry in istio-system failed, no answer ("),
    (dict(status=None, delay=2.5), "list ServiceEntry in istio-system failed, timeout: no answer within 2s to GET "
                                   "/apis/networking.istio.io/v1/namespaces/istio-system/serviceentries (after 4 attempts)"),
    (dict(status=403), "list ServiceEntry in istio-system failed (403 Forbidden): forbidden: the credentials lack list on "
                       "serviceentries.networking.istio.io in namespace istio-system: injected fault"),
], ids=["503", "dropped", "timeout", "403"])
def test_a_lasting_fault_names_the_request_and_the_status(apiserver, cluster, fault, expected):
    injected = apiserver.inject_fault({"verb": "list"}, times=None, **fault)
    with pytest.raises(ApiError) as error:
        apply(cluster, service_entry("a", "a.example.com"))
    assert str(error.value).startswith(expected)
    assert injected.hits == (1 if fault.get("status") == 403 else 4)
    assert apiserver.counts()["writes"] == 0 and stored(apiserver) == []


def test_an_update_that_keeps_losing_the_race_stops_after_the_retries_and_writes_nothing(apiserver, cluster):
    # The one write engine's conflict policy: re-read and decide again after every 409, CONFLICT_RETRIES times.
    apply(cluster, service_entry("a", "a.example.com"))
    apiserver.reset_counts()
    fault = apiserver.inject_fault({"verb": "update"}, status=409, times=None)
    with pytest.raises(ApiError) as error:
        apply(cluster, service_entry("a", "a2.example.com"))
    assert str(error.value).startswith("ServiceEntry istio-system/a: still conflicting after 5 retries")
    assert fault.hits == 6  # the first PUT and five more, each after a fresh GET
    assert [r["verb"] for r in apiserver.requests if r["verb"] == "get" and r["name"] == "a"] == ["get"] * 5
    assert [o["spec"]["hosts"] for o in apiserver.objects("serviceentries", NS)] == [["a.example.com"]]


def test_an_update_answered_404_reads_the_object_again_and_decides_again(apiserver, cluster):
    # 404 on a PUT: the object may have been deleted since the LIST; the engine reads it again (here it is still
    # there, as the proxy answered in the server's place) and writes what the new read calls for.
    apply(cluster, service_entry("a", "a.example.com"))
    apiserver.reset_counts()
    fault = apiserver.inject_fault({"verb": "update"}, status=404)
    result = apply(cluster, service_entry("a", "a2.example.com"))
    assert fault.hits == 1 and result["updated"] == ["ServiceEntry/istio-system/a"]
    assert [o["spec"]["hosts"] for o in apiserver.objects("serviceentries", NS)] == [["a2.example.com"]]
