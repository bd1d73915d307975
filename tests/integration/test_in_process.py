"""The collection's modules run in the controller's worker when the task runs
on the controller (plugins/action, plugin_utils/_in_process.py), and as
module processes otherwise (``istio_egress_in_process: false`` here). One
playbook run calls each case both ways, each way as its own inventory host
with its own identity: the results, the refusals and the cluster's requests
must be the same, secrets masked on both paths, and only the module path may
leave an AnsiballZ file behind (ANSIBLE_KEEP_REMOTE_FILES).
"""
import json
import re
from pathlib import Path

import pytest

from control_plane import audit
from helpers.batch import ISTIO_CRDS
from helpers.cluster import install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "module_call.yml"
SECRET = "not-a-token-4b1d7c"


def hosts(*names, **args):
    return {"case_module": "egress_hosts", "case_args": dict({"hosts": [{"host": n} for n in names]}, **args)}


def owned_service_entry(owner, namespace):
    """An object of ``owner`` already on the cluster, for the empty list to refuse to prune."""
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "se-" + owner, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": owner}},
            "spec": {"hosts": [owner + ".example.com"], "ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"}],
                     "resolution": "DNS", "location": "MESH_EXTERNAL"}}


# id -> (case vars, what the result must say); each case runs once per path.
CASES = {
    "converge": (hosts("converge.example.com", "pay.example.com"), None),
    "check": (dict(hosts("check.example.com"), case_check_mode=True), None),
    "bad-item": (hosts("api.example.com", "api.example.com"), "- hosts[1] (host 'api.example.com'): host: 'api.example.com' is already declared at hosts[0]"),
    "bad-type": (hosts("api.example.com", prune="maybe"), "prune"),
    "unknown-option": (hosts("api.example.com", prunes=True), "prunes"),
    "empty-list": (hosts(), "is empty, so this run would delete all 1 object(s)"),
    "secret": (hosts("secret.example.com", api_key=SECRET), None),
    # The task's environment reaches the options' environment fallbacks (request_timeout).
    "environment": (dict(hosts("env.example.com"), case_environment={"MESHOPS_K8S_REQUEST_TIMEOUT": "7"}), None),
    # The task's kubeconfig wins over istio_egress_kubeconfig (which names no file for this case).
    "explicit-wins": (hosts("explicit.example.com"), None),
    "vs-batch": ({"case_module": "virtual_service", "case_args": {
        "virtual_services": [
            {"name": "vs-batch", "hosts": ["vs.example.com"], "gateways": ["mesh"],
             "http": [{"name": "vs-batch-80", "match": [{"gateways": ["mesh"], "port": 80}],
                       "route": [{"destination": {"host": "vs.example.com"}}]}]}]}}, None),
}
PATHS = ("here", "module")


def host(case, path):
    return "%s-%s" % (case, path)


def namespace(path):
    """Each path writes in a namespace of its own, so both can use the same owner and names."""
    return "path-" + path


@pytest.fixture(scope="module")
def both_paths(control_plane, tmp_path_factory):
    plane = control_plane
    directory = tmp_path_factory.mktemp("in-process")
    remote_tmp = directory / "remote-tmp"
    try:
        plane.create_namespace("istio-system")
        install_istio(plane)
        inventory = {}
        for path in PATHS:
            plane.create_namespace(namespace(path))
            plane.create(owned_service_entry("empty-list", namespace(path)))
        for case, (case_vars, _expected) in CASES.items():
            for path in PATHS:
                name = host(case, path)
                args = dict(case_vars["case_args"], owner=case)
                if case_vars["case_module"] == "virtual_service":
                    args["namespace"] = namespace(path)
                else:
                    args["settings"] = {"namespace": namespace(path)}
                if case == "empty-list":  # where the object of an owner from before ApplySets is searched
                    args["prune_scope"] = [{"api_version": "networking.istio.io/v1", "kind": "ServiceEntry",
                                            "namespace": namespace(path)}]
                kubeconfig = plane.user_kubeconfig("case-" + name)
                if case == "explicit-wins":
                    args["kubeconfig"], kubeconfig = kubeconfig, str(directory / "no-such-kubeconfig")
                inventory[name] = dict(case_vars, case_args=args, istio_egress_in_process=(path == "here"),
                                       istio_egress_kubeconfig=kubeconfig)
        result = run_playbook(PLAYBOOK, inventory=write_inventory(directory, inventory),
                              env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp), "ANSIBLE_FORKS": "4"})
        outcomes = {}
        for _task, name, outcome in result.task_results():
            if not outcome.get("skipped"):
                outcomes[name] = outcome
        records = plane.requests
        requests = dict((name, [(r["verb"], r["plural"], r["name"], r["dry_run"]) for r in records
                                if r["user"] == "case-" + name and r["verb"] != "discovery"]) for name in inventory)
        return {"outcomes": outcomes, "requests": requests, "stdout": result.stdout, "remote_tmp": remote_tmp}
    finally:
        plane.wipe()


def comparable(outcome, path):
    """The result a user reads, with the path's namespace (and the ApplySet id derived from it) made the
    same, and the order of a set Python prints (the valid booleans) left out."""
    text = json.dumps(dict((k, v) for k, v in outcome.items() if k not in ("invocation", "_ansible_no_log")), sort_keys=True)
    text = re.sub(r"applyset-[A-Za-z0-9_-]+-v1", "applyset-ID", text.replace(namespace(path), "path-NS"))
    return json.loads(re.sub(r"Valid booleans include: [^\"]*", "Valid booleans include: ...", text))


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_paths_give_the_same_result(both_paths, case):
    here, module = (both_paths["outcomes"][host(case, path)] for path in PATHS)
    assert comparable(here, "here") == comparable(module, "module")
    expected = CASES[case][1]
    if expected:
        assert here.get("failed") and expected in here["msg"], here
    else:
        assert not here.get("failed"), here.get("msg")


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_paths_make_the_same_requests(both_paths, case):
    here, module = (both_paths["requests"][host(case, path)] for path in PATHS)
    assert [r[:2] + (r[3],) for r in here] == [r[:2] + (r[3],) for r in module]
    if CASES[case][1] and case not in ("empty-list", "secret"):
        assert here == [], "bad input made requests: %s" % here


def test_writes_happen_and_check_mode_writes_nothing(both_paths):
    for path in PATHS:
        assert [r for r in both_paths["requests"][host("explicit-wins", path)] if r[0] in audit.WRITES]
        writes = [r for r in both_paths["requests"][host("converge", path)] if r[0] in audit.WRITES]
        assert writes and not any(r[3] for r in writes)
        checked = [r for r in both_paths["requests"][host("check", path)] if r[0] in audit.WRITES]
        assert checked and all(r[3] for r in checked), checked


def test_the_token_is_masked_on_both_paths(both_paths):
    assert SECRET not in both_paths["stdout"]
    for path in PATHS:
        invocation = both_paths["outcomes"][host("secret", path)].get("invocation", {}).get("module_args", {})
        assert invocation.get("api_key") == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", invocation


def test_only_the_module_path_ships_a_module(both_paths):
    shipped = sorted(p.name for p in both_paths["remote_tmp"].rglob("AnsiballZ_*.py"))
    # One module process per case on the module path; none on the controller path.
    assert len(shipped) == len(CASES), shipped


def test_an_extra_var_string_false_ships_the_module(control_plane, tmp_path):
    """``-e istio_egress_in_process=false`` arrives as the string "false". (Bad input: no cluster needed.)"""
    case = dict(hosts("a.example.com", "a.example.com", owner="extra-var"), istio_egress_kubeconfig=control_plane.kubeconfig)
    inventory = write_inventory(tmp_path, {"extra-var": case})
    remote_tmp = tmp_path / "remote-tmp"
    result = run_playbook(PLAYBOOK, inventory=inventory, json_output=False, args=["-e", "istio_egress_in_process=false"],
                          env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp)})
    assert result.rc == 2 and "is already declared at hosts[0]" in result.stdout, result.stdout[-2000:]
    assert [p.name for p in remote_tmp.rglob("AnsiballZ_*.py")] == ["AnsiballZ_egress_hosts.py"]


def test_the_tasks_environment_reaches_the_option_fallbacks_on_both_paths(both_paths):
    for path in PATHS:
        assert both_paths["outcomes"][host("environment", path)]["invocation"]["module_args"]["request_timeout"] == 7.0
