"""site.yml under API faults: 5xx, 503 with Retry-After, an answer slower than
the client's timeout, a dropped connection, 409 on writes. A transient fault is
retried where that is safe and the run succeeds; a lasting one fails with a
message naming the request, the object and the status. Either way a rerun
without faults ends in exactly the state a clean run leaves, with nothing
duplicated or lost and another team's objects untouched."""
import re

import pytest

from helpers.cluster import install_istio
from helpers.mesh_state import HOSTS, duplicates, failure_messages, seed_team_objects, site, state, team_objects

# Short, so that a stalled answer costs seconds; the fault's delay goes past it.
TIMEOUT = 2
ENV = {"MESHOPS_K8S_REQUEST_TIMEOUT": str(TIMEOUT)}
KINDS = {
    "500": dict(status=500),
    "503-retry-after": dict(status=503, retry_after=1),
    # The proxy holds the request past the client's timeout, then forwards it:
    # the write lands on the server after the client gave up on it.
    "timeout": dict(status=None, delay=TIMEOUT + 1.5),
    "dropped": dict(status=None, drop=True),
    "409": dict(status=409),
}
# What a first run against a cluster with the team's objects does: LIST the
# ServiceEntries, create them, merge our routes into the team's VirtualService.
TARGETS = {
    "list-serviceentries": {"verb": "list", "plural": "serviceentries"},
    "create-serviceentry": {"verb": "create", "plural": "serviceentries", "dry_run": False},
    "update-virtualservice": {"verb": "update", "plural": "virtualservices", "dry_run": False},
}


def prepare(server):
    """The start of every run here: Istio installed and another team's objects in place."""
    server.create_namespace("istio-system")
    install_istio(server)
    return seed_team_objects(server)


@pytest.fixture(scope="module")
def clean_state(control_plane, tmp_path_factory):
    """What a run without faults leaves, from the same start; wiped before the tests run."""
    try:
        prepare(control_plane)
        result = site(control_plane, tmp_path_factory.mktemp("clean"), HOSTS, env=ENV)
        assert result.rc == 0, result.stdout[-3000:]
        return state(control_plane)
    finally:
        control_plane.wipe()


@pytest.fixture
def cluster(clean_state, apiserver):
    return apiserver, prepare(apiserver)


def assert_converged(server, team, clean_state):
    assert duplicates(server) == []
    assert state(server) == clean_state
    # the team's objects: the ServiceEntry byte for byte (resourceVersion too:
    # never written), its route and labels in the shared VirtualService as they were
    assert team_objects(server) == team


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_transient_fault_is_retried_and_the_state_is_exact(cluster, clean_state, tmp_path, kind):
    server, team = cluster
    faults = {target: server.inject_fault(match, times=1, **KINDS[kind])
              for target, match in TARGETS.items() if not (kind == "409" and match["verb"] == "list")}

    result = site(server, tmp_path, HOSTS, env=ENV, kubeconfig=server.proxied_kubeconfig)

    assert result.rc == 0, failure_messages(result)
    assert dict((target, fault.hits) for target, fault in faults.items()) == dict((target, 1) for target in faults)
    # already the clean run's state: nothing duplicated, lost or left half-written
    assert_converged(server, team, clean_state)


LASTING = [
    # (kind, target, what the message must say: the request or object, the status or the timeout)
    ("503-retry-after", "create-serviceentry",
     [r"create ServiceEntry istio-system/[-a-z0-9]+ failed \(503 ServiceUnavailable\)", r"after 4 attempts"]),
    ("timeout", "list-serviceentries",
     [r"list ServiceEntry in istio-system failed, timeout: no answer within %ds" % TIMEOUT,
      r"GET /apis/networking\.istio\.io/v1/namespaces/istio-system/serviceentries"]),
]
# A 409 that never ends: test_virtual_service_module.py (the same code path, cheaper).


@pytest.mark.parametrize("kind,target,patterns", LASTING, ids=["%s-%s" % (k, t) for k, t, _p in LASTING])
def test_a_lasting_fault_fails_clearly_and_a_rerun_converges(cluster, clean_state, tmp_path, kind, target, patterns):
    server, team = cluster
    fault = server.inject_fault(TARGETS[target], times=None, **KINDS[kind])

    result = site(server, tmp_path, HOSTS, env=ENV, kubeconfig=server.proxied_kubeconfig)

    assert result.rc != 0
    [message] = failure_messages(result)
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    assert fault.hits >= 2  # retried before giving up
    assert "Traceback" not in result.stdout

    server.clear_faults()
    again = site(server, tmp_path, HOSTS, env=ENV, kubeconfig=server.proxied_kubeconfig)
    assert again.rc == 0, failure_messages(again)
    assert_converged(server, team, clean_state)
