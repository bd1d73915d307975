"""The retry policy where it meets the API: k8s_glue.Cluster and object_apply
against the test API server with injected faults, in-process (the paths the
site.yml fault tests cannot force: an applied create whose answer was lost,
a conflicting delete)."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils.k8s_glue import ApiError, Cluster
from ansible_collections.meshops.istio_egress.plugins.module_utils.object_apply import apply_object_set

NS = "istio-system"
OWNER = "unit"


class Module(object):
    """What kubernetes.core's get_api_client reads from an AnsibleModule."""

    server_side_dry_run = False

    def __init__(self, kubeconfig, request_timeout):
        self.params = {"kubeconfig": kubeconfig, "request_timeout": request_timeout}

    def requires(self, *args, **kwargs):
        pass


def service_entry(name, host):
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": name, "namespace": NS},
            "spec": {"hosts": [host], "ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"}],
                     "resolution": "DNS", "location": "MESH_EXTERNAL"}}


@pytest.fixture
def cluster(k8s_server):
    return Cluster(Module(k8s_server.kubeconfig, request_timeout=2))


def apply(cluster, *bodies):
    scope = [{"api_version": "networking.istio.io/v1", "kind": "ServiceEntry", "namespace": NS}]
    return apply_object_set(cluster, list(bodies), OWNER, prune=True, prune_scope=scope)


def stored(server):
    return sorted(o["metadata"]["name"] for o in server.objects("serviceentries", NS))


def test_a_create_applied_but_unanswered_is_read_back_not_duplicated(k8s_server, cluster):
    # The first POST stalls past the client's timeout and lands later; the repeat
    # (slowed too) arrives after it and finds the name taken.
    first = k8s_server.inject_fault({"verb": "create"}, status=None, delay=2.6)
    repeat = k8s_server.inject_fault({"verb": "create"}, status=None, delay=1.3)
    result = apply(cluster, service_entry("a", "a.example.com"))
    assert (first.hits, repeat.hits) == (1, 1)
    assert [r["status"] for r in k8s_server.requests if r["verb"] == "create"] == [201, 409]
    assert result["created"] == ["ServiceEntry/istio-system/a"] and stored(k8s_server) == ["a"]


def test_a_conflicting_create_re_reads_and_creates(k8s_server, cluster):
    fault = k8s_server.inject_fault({"verb": "create"}, status=409)
    assert apply(cluster, service_entry("a", "a.example.com"))["created"] == ["ServiceEntry/istio-system/a"]
    assert fault.hits == 1 and stored(k8s_server) == ["a"]


def test_a_conflicting_delete_re_reads_and_deletes_what_is_still_ours(k8s_server, cluster):
    apply(cluster, service_entry("a", "a.example.com"), service_entry("b", "b.example.com"))
    fault = k8s_server.inject_fault({"verb": "delete"}, status=409)
    assert apply(cluster, service_entry("a", "a.example.com"))["deleted"] == ["ServiceEntry/istio-system/b"]
    assert fault.hits == 1 and stored(k8s_server) == ["a"]


@pytest.mark.parametrize("fault", [dict(status=500), dict(status=503, retry_after=0), dict(status=None, drop=True),
                                   dict(status=None, delay=2.5)], ids=["500", "503", "dropped", "timeout"])
def test_transient_read_faults_are_retried(k8s_server, cluster, fault):
    injected = k8s_server.inject_fault({"verb": "list"}, times=2, **fault)
    assert apply(cluster, service_entry("a", "a.example.com"))["created"] == ["ServiceEntry/istio-system/a"]
    assert injected.hits == 2


@pytest.mark.parametrize("fault,expected", [
    (dict(status=503, retry_after=0), "list ServiceEntry in istio-system failed (503 ServiceUnavailable): injected fault "
                                      "(ServiceUnavailable) (after 4 attempts)"),
    (dict(status=None, drop=True), "list ServiceEntry in istio-system failed, no answer ("),
    (dict(status=None, delay=2.5), "list ServiceEntry in istio-system failed, timeout: no answer within 2s to GET "
                                   "/apis/networking.istio.io/v1/namespaces/istio-system/serviceentries (after 4 attempts)"),
    (dict(status=403), "list ServiceEntry in istio-system failed (403 Forbidden): forbidden: the credentials lack list on "
                       "serviceentries.networking.istio.io in namespace istio-system: injected fault (Forbidden)"),
], ids=["503", "dropped", "timeout", "403"])
def test_a_lasting_fault_names_the_request_and_the_status(k8s_server, cluster, fault, expected):
    injected = k8s_server.inject_fault({"verb": "list"}, times=None, **fault)
    with pytest.raises(ApiError) as error:
        apply(cluster, service_entry("a", "a.example.com"))
    assert str(error.value).startswith(expected)
    assert injected.hits == (1 if fault.get("status") == 403 else 4)
    assert k8s_server.counts()["writes"] == 0
