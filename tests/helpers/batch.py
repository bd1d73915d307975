"""Table-driven playbook runs: many test cases in one ansible-playbook run.

Each case is one inventory host, all against the one control plane of the
test process, each with its own identity: a client certificate for user
``case-<id>`` (its own kubeconfig through ``istio_egress_kubeconfig``), so the
audit log counts each case's requests apart. Istio is installed once in
``istio-system`` for the cases that only read. A case whose set-up changes
cluster state (or whose vars name ``NS``) gets namespace ``case-<id>`` with
Istio installed there, and ``NS`` in its vars and fragments becomes that
name, so no case sees another's state. The cases of a table cost one
playbook start and one pass over the tasks, forks run them side by side, and
a failed host does not stop the others.

Under pytest-xdist the first worker to ask runs the table (on its own control
plane) and stores the outcomes in the session's shared temp directory; the
other workers read them, so a parametrized test over the table costs one run
whichever worker runs which case.
"""
import fcntl
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from control_plane import audit
from helpers.cluster import install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"
# In a case's vars and fragments: the case's own namespace.
NS = "{case-namespace}"
# site.yml's variables that say where Istio, the gateway and our objects live.
SITE_NAMESPACE_VARS = ("egress_gateway_namespace", "outbound_policy_istio_namespace", "external_services_namespace")


@dataclass(frozen=True)
class Case:
    """One row: the inventory host vars, the fragments its error must contain
    (the item and the field a user looks for), and an optional cluster set-up
    ``setup(server, namespace)`` of the case's own namespace, run before the run."""
    id: str
    vars: dict
    fragments: tuple
    setup: object = None

    def __repr__(self):
        return self.id

    @property
    def namespace(self):
        """``case-<id>`` where the case changes or names cluster state of its own, else None."""
        return "case-" + self.id if self.setup or NS in json.dumps(self.vars) else None


def in_own_namespace(host_vars, names=SITE_NAMESPACE_VARS):
    """``host_vars`` with site.yml pointed at the case's own namespace."""
    return dict(dict.fromkeys(names, NS), **host_vars)


def _fill(value, namespace):
    if isinstance(value, str):
        return value.replace(NS, namespace)
    if isinstance(value, dict):
        return dict((k, _fill(v, namespace)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v, namespace) for v in value)
    return value


@dataclass
class Outcome:
    failed: bool = False
    task: str = ""
    message: str = ""
    writes: int = 0
    namespace: str = ""
    requests: list = field(default_factory=list)


def _message(result):
    msg = result.get("msg")
    if isinstance(msg, list):
        msg = "\n".join(str(line) for line in msg)
    # A module that crashed has no msg worth reading alone: keep its output too.
    extra = [str(result.get("module_stderr"))] if result.get("module_stderr") else []
    return "\n".join([str(msg or "")] + extra)


def _run(plane, playbook, cases, directory, forks):
    """Set up, run the table, read each identity's requests; the control plane is wiped after."""
    try:
        plane.create_namespace("istio-system")
        install_istio(plane)
        hosts = {}
        for case in cases:
            host_vars = dict(case.vars)
            if case.namespace:
                plane.create_namespace(case.namespace)
                install_istio(plane, case.namespace)
                if case.setup:
                    case.setup(plane, case.namespace)
                host_vars = _fill(host_vars, case.namespace)
            hosts[case.id] = dict(host_vars, istio_egress_kubeconfig=plane.user_kubeconfig("case-" + case.id))
        plane.reset_counts()
        result = run_playbook(playbook, inventory=write_inventory(directory, hosts), env={"ANSIBLE_FORKS": str(forks)})
        assert result.stats, result.stdout[-3000:] + result.stderr[-3000:]
        outcomes = {}
        for task, host, outcome in result.task_results():
            if outcome.get("failed") and host not in outcomes:
                outcomes[host] = Outcome(True, task, _message(outcome))
        records = plane.requests  # read once: each read waits for the audit log to catch up
        for case in cases:
            mine = [r for r in records if r["user"] == "case-" + case.id]
            outcome = outcomes.setdefault(case.id, Outcome())
            outcome.writes = audit.counts(mine)["writes"]
            outcome.namespace = case.namespace or ""
            outcome.requests = [dict((k, r[k]) for k in ("verb", "plural", "namespace", "name", "dry_run", "status"))
                                for r in mine if r["verb"] != "discovery"]
        return outcomes
    finally:
        plane.wipe()


def assert_refused(case, outcome):
    """The case failed, its error names what the case's fragments name, and
    its identity made no write."""
    assert outcome.failed, "%s did not fail; requests: %s" % (case.id, outcome.requests)
    fragments = _fill(case.fragments, outcome.namespace) if outcome.namespace else case.fragments
    missing = [fragment for fragment in fragments if fragment not in outcome.message]
    assert not missing, "%s: %r not in the error of %r:\n%s" % (case.id, missing, outcome.task, outcome.message)
    assert outcome.writes == 0, [r for r in outcome.requests if r["verb"] not in ("get", "list")]


def assert_converged(outcome):
    """A valid control case in the same run: it succeeded and its own identity's writes were counted,
    so the set-up reached it and a refused case's zero is no accident of counting."""
    assert not outcome.failed, outcome.message
    assert outcome.writes > 0, outcome.requests
    if outcome.namespace:  # and they stayed in its own namespace, out of the other cases' way
        elsewhere = [r for r in outcome.requests if r["verb"] in audit.WRITES and r["namespace"] != outcome.namespace]
        assert not elsewhere, elsewhere


def outcomes_fixture(playbook, cases):
    """A module-scoped ``outcomes`` fixture: {case id: Outcome} of ``cases``."""
    @pytest.fixture(scope="module")
    def outcomes(request, tmp_path_factory):
        return run_cases(playbook, cases, tmp_path_factory, lambda: request.getfixturevalue("control_plane"))
    return outcomes


def run_cases(playbook, cases, tmp_path_factory, get_plane, forks=8):
    """{case id: Outcome} for ``cases``, run once per pytest session; ``get_plane()`` gives the
    control plane (asked for only by the process that runs the table)."""
    ids = [case.id for case in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    # ids are inventory hostnames, owners, user names and (after "case-") namespace names
    assert all(re.match(r"^[a-z0-9]([-a-z0-9]{0,56}[a-z0-9])?$", i) for i in ids), ids
    digest = hashlib.sha256(json.dumps([str(playbook)] + ids).encode()).hexdigest()[:12]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run(get_plane(), playbook, cases, tmp_path_factory.mktemp("cases"), forks)
    shared = tmp_path_factory.getbasetemp().parent / ("cases-" + digest)
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "outcomes.json"
        if not done.exists():
            outcomes = _run(get_plane(), playbook, cases, shared, forks)
            done.write_text(json.dumps(dict((k, vars(v)) for k, v in outcomes.items())))
            return outcomes
    return dict((k, Outcome(**v)) for k, v in json.loads(done.read_text()).items())
