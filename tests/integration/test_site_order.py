"""playbooks/site.yml never closes the mesh on a host it should reach, and
never empties a cluster for an empty host list without being told to.

Read from the API server's request log: the external hosts' objects are
written before the mesh's outboundTrafficPolicy; a run that fails on the way
leaves the mesh ConfigMap untouched; an empty host list deletes nothing
without external_services_allow_empty_prune.
"""
import pytest

from helpers.cluster import install_istio
from helpers.mesh_state import site

OWNER = "egress.meshops.io/owner"
WRITES = ("create", "update", "patch", "delete", "deletecollection")
KINDS = {"serviceentries": "ServiceEntry", "gateways": "Gateway", "destinationrules": "DestinationRule",
         "virtualservices": "VirtualService"}
HOSTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
]


@pytest.fixture
def cluster(apiserver):
    install_istio(apiserver)
    apiserver.reset_counts()
    return apiserver


def failure_text(result):
    return "\n".join(str(outcome.get("msg")) for _task, _host, outcome in result.task_results() if outcome.get("failed"))


def is_write(record):
    return record["verb"] in WRITES and not record["dry_run"]


def is_mesh_config(request):
    return request["plural"] == "configmaps" and request["name"] == "istio"


def mesh_writes(server):
    return [r for r in server.requests if is_write(r) and is_mesh_config(r)]


def mesh_config(server):
    configmap = server.get("configmaps", "istio-system", "istio")
    return configmap["data"]["mesh"], configmap["metadata"]["resourceVersion"]


def owned_by_kind(server, owner="cluster-a"):
    counts = {}
    for plural, kind in KINDS.items():
        owned = [o for o in server.objects(plural, "istio-system") if (o["metadata"].get("labels") or {}).get(OWNER) == owner]
        if owned:
            counts[kind] = len(owned)
    return counts


def test_a_first_run_writes_every_host_object_before_the_mesh_policy(cluster, tmp_path):
    before, _version = mesh_config(cluster)
    assert "REGISTRY_ONLY" not in before

    result = site(cluster, tmp_path, HOSTS)

    assert result.rc == 0, failure_text(result) or result.stdout[-3000:]
    log = cluster.requests
    writes = [(index, r) for index, r in enumerate(log) if is_write(r) and r["status"] < 400]
    [mesh_write] = [index for index, r in writes if is_mesh_config(r)]
    service_entries = [index for index, r in writes if r["verb"] == "create" and r["plural"] == "serviceentries"]
    assert len(service_entries) == len(HOSTS)
    # Every object of the hosts (ServiceEntries, Gateway, DestinationRule, VirtualServices) comes first.
    assert [r["plural"] for index, r in writes if index > mesh_write] == []
    assert max(service_entries) < mesh_write
    # The mesh config was read and checked before anything was written.
    first_mesh_read = min(index for index, r in enumerate(log) if is_mesh_config(r) and r["verb"] == "get")
    assert first_mesh_read < min(index for index, _r in writes)
    assert "REGISTRY_ONLY" in mesh_config(cluster)[0]


def test_service_entry_creates_that_fail_leave_the_mesh_policy_as_it_was(cluster, tmp_path):
    before = mesh_config(cluster)
    fault = cluster.inject_fault({"verb": "create", "plural": "serviceentries", "dry_run": False}, status=500, times=None)

    result = site(cluster, tmp_path, HOSTS, kubeconfig=cluster.proxied_kubeconfig)

    assert result.rc != 0
    assert fault.hits >= 1
    assert "ServiceEntry" in failure_text(result) and "500" in failure_text(result)
    assert mesh_writes(cluster) == []
    assert mesh_config(cluster) == before


def test_a_missing_external_services_namespace_fails_before_the_mesh_policy(cluster, tmp_path):
    before = mesh_config(cluster)

    result = site(cluster, tmp_path, HOSTS, external_services_namespace="egress-objects")

    assert result.rc != 0
    assert "egress-objects" in failure_text(result)
    assert mesh_writes(cluster) == []
    assert mesh_config(cluster) == before


@pytest.fixture
def converged(cluster, tmp_path):
    """The hosts' objects on the cluster, from an earlier run; returns their count by kind."""
    first = site(cluster, tmp_path, HOSTS)
    assert first.rc == 0, failure_text(first)
    owned = owned_by_kind(cluster)
    assert set(owned) == set(KINDS.values())
    cluster.reset_counts()
    return owned


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_an_empty_host_list_deletes_nothing_without_the_opt_in(cluster, converged, tmp_path, check):
    result = site(cluster, tmp_path, [], check=check)

    assert result.rc != 0
    message = failure_text(result)
    assert "external_services_hosts is empty" in message, message
    assert "all %d object(s) of owner 'cluster-a'" % sum(converged.values()) in message
    for kind, count in converged.items():
        assert "%d %s" % (count, kind) in message
    assert "external_services_allow_empty_prune: true" in message
    # Not even a dry-run delete; and the policy step is not reached.
    assert [r for r in cluster.requests if r["verb"] in ("delete", "deletecollection")] == []
    assert cluster.counts()["writes"] == 0
    assert owned_by_kind(cluster) == converged


def test_an_empty_host_list_with_the_opt_in_deletes_every_object_of_the_owner(cluster, converged, tmp_path):
    result = site(cluster, tmp_path, [], external_services_allow_empty_prune=True)

    assert result.rc == 0, failure_text(result)
    assert owned_by_kind(cluster) == {}
    deleted = [r for r in cluster.requests if is_write(r) and r["verb"] == "delete" and r["status"] < 400]
    assert len(deleted) == sum(converged.values())


def test_an_empty_host_list_with_nothing_on_the_cluster_is_no_error(cluster, tmp_path):
    result = site(cluster, tmp_path, [])

    assert result.rc == 0, failure_text(result)
    assert [r for r in cluster.requests if r["verb"] in ("delete", "deletecollection")] == []
