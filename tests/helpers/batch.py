"""Table-driven playbook runs: many test cases in one ansible-playbook run.

Each case is one inventory host with its own test API server (its own
kubeconfig through ``istio_egress_kubeconfig``; Istio installed once through
the API, then that state loaded into each), so the cases of a table
cost one playbook start and one pass over the tasks, forks run them side by
side, and each case's requests are counted apart. A case fails or passes on
its own: a failed host does not stop the others.

Under pytest-xdist the first worker to ask runs the table and stores the
outcomes in the session's shared temp directory; the other workers read them,
so a parametrized test over the table costs one run whichever worker runs
which case.
"""
import fcntl
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.cluster import install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook
from k8s_server import start_server

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"


@dataclass(frozen=True)
class Case:
    """One row: the inventory host vars, the fragments its error must contain
    (the item and the field a user looks for), and an optional cluster set-up
    ``setup(server)`` run before the counters are reset."""
    id: str
    vars: dict
    fragments: tuple
    setup: object = None

    def __repr__(self):
        return self.id


@dataclass
class Outcome:
    failed: bool = False
    task: str = ""
    message: str = ""
    writes: int = 0
    requests: list = field(default_factory=list)


def _message(result):
    msg = result.get("msg")
    if isinstance(msg, list):
        msg = "\n".join(str(line) for line in msg)
    # A module that crashed has no msg worth reading alone: keep its output too.
    extra = [str(result.get("module_stderr"))] if result.get("module_stderr") else []
    return "\n".join([str(msg or "")] + extra)


def _istio_state(directory):
    """A cluster with Istio installed, set up once through the API and saved:
    loading it is ten times faster than installing the CRDs again."""
    path = directory / "istio-state.json"
    with start_server(crd_file=str(ISTIO_CRDS)) as server:
        server.create_namespace("istio-system")
        install_istio(server)
        server.save_state(str(path))
    return path


def _run(playbook, cases, directory, forks):
    servers = {}
    try:
        hosts = {}
        state = _istio_state(directory)
        for case in cases:
            server = start_server()
            servers[case.id] = server
            server.load_state(str(state))
            if case.setup:
                case.setup(server)
            server.reset_counts()
            hosts[case.id] = dict(case.vars, istio_egress_kubeconfig=server.kubeconfig)
        outcomes = {}
        result = run_playbook(playbook, inventory=write_inventory(directory, hosts), env={"ANSIBLE_FORKS": str(forks)})
        assert result.stats, result.stdout[-3000:] + result.stderr[-3000:]
        for task, host, outcome in result.task_results():
            if outcome.get("failed") and host not in outcomes:
                outcomes[host] = Outcome(True, task, _message(outcome))
        for case in cases:
            outcome = outcomes.setdefault(case.id, Outcome())
            outcome.writes = servers[case.id].counts()["writes"]
            outcome.requests = [dict((k, r[k]) for k in ("verb", "plural", "namespace", "name", "dry_run", "status"))
                                for r in servers[case.id].requests if r["verb"] != "discovery"]
        return outcomes
    finally:
        for server in servers.values():
            server.stop()


def assert_refused(case, outcome):
    """The case failed, its error names what the case's fragments name, and
    its cluster saw no write."""
    assert outcome.failed, "%s did not fail; requests: %s" % (case.id, outcome.requests)
    missing = [fragment for fragment in case.fragments if fragment not in outcome.message]
    assert not missing, "%s: %r not in the error of %r:\n%s" % (case.id, missing, outcome.task, outcome.message)
    assert outcome.writes == 0, [r for r in outcome.requests if r["verb"] not in ("get", "list")]


def outcomes_fixture(playbook, cases):
    """A module-scoped ``outcomes`` fixture: {case id: Outcome} of ``cases``."""
    @pytest.fixture(scope="module")
    def outcomes(tmp_path_factory):
        return run_cases(playbook, cases, tmp_path_factory)
    return outcomes


def run_cases(playbook, cases, tmp_path_factory, forks=8):
    """{case id: Outcome} for ``cases``, run once per pytest session."""
    ids = [case.id for case in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    assert all(re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", i) for i in ids), "case ids are inventory hostnames and owners"
    digest = hashlib.sha256(json.dumps([str(playbook)] + ids).encode()).hexdigest()[:12]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run(playbook, cases, tmp_path_factory.mktemp("cases"), forks)
    shared = tmp_path_factory.getbasetemp().parent / ("cases-" + digest)
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "outcomes.json"
        if not done.exists():
            outcomes = _run(playbook, cases, shared, forks)
            done.write_text(json.dumps(dict((k, vars(v)) for k, v in outcomes.items())))
            return outcomes
    return dict((k, Outcome(**v)) for k, v in json.loads(done.read_text()).items())
