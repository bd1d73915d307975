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
from k8s_server.fixtures import ISTIO_CRDS
from k8s_server.server import start_server

# Short, so that a stalled answer costs seconds; the fault's delay goes past it.
TIMEOUT = 2
ENV = {"MESHOPS_K8S_REQUEST_TIMEOUT": str(TIMEOUT)}
KINDS = {
    "500": dict(status=500),
    "503-retry-after": dict(status=503, retry_after=1),
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


def _cluster():
    server = start_server(crd_file=str(ISTIO_CRDS))
    server.create_namespace("istio-system")
    install_istio(server)
    seed_team_objects(server)
    return server


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory):
    """What a run without faults leaves on a fresh cluster."""
    if not ISTIO_CRDS.is_file():
        pytest.skip("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    server = _cluster()
    try:
        result = site(server, tmp_path_factory.mktemp("clean"), HOSTS, env=ENV)
        assert result.rc == 0, result.stdout[-3000:]
        return state(server)
    finally:
        server.stop()


@pytest.fixture
def cluster(clean_state):
    server = _cluster()
    team = team_objects(server)
    yield server, team
    server.stop()


def assert_converged(server, team, clean_state):
    assert duplicates(server) == []
    assert state(server) == clean_state
    # the team's objects: the ServiceEntry byte for byte, its route as it was
    assert team_objects(server) == team


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_transient_fault_is_retried_and_the_state_is_exact(cluster, clean_state, tmp_path, kind):
    server, team = cluster
    faults = {target: server.inject_fault(match, times=1, **KINDS[kind])
              for target, match in TARGETS.items() if not (kind == "409" and match["verb"] == "list")}

    result = site(server, tmp_path, HOSTS, env=ENV)

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

    result = site(server, tmp_path, HOSTS, env=ENV)

    assert result.rc != 0
    [message] = failure_messages(result)
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    assert fault.hits >= 2  # retried before giving up
    assert "Traceback" not in result.stdout

    server.clear_faults()
    again = site(server, tmp_path, HOSTS, env=ENV)
    assert again.rc == 0, failure_messages(again)
    assert_converged(server, team, clean_state)
