"""Check mode and --diff tell the truth: a --check --diff run of
playbooks/site.yml writes nothing, and the writes it predicts (its server-side
dry runs, the changes its tasks report, the objects its diffs show) are
exactly the writes the real run then makes, on a first run, on a change of
the host list (one host added, one removed, one modified), and on a prune.
Both are read from the API server's audit log.
"""
from collections import Counter

import pytest

from helpers.cluster import install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

SITE = "meshops.istio_egress.site"
WRITES = ("create", "update", "patch", "delete", "deletecollection")
PLURALS = {"ServiceEntry": "serviceentries", "Gateway": "gateways", "DestinationRule": "destinationrules",
           "VirtualService": "virtualservices", "AuthorizationPolicy": "authorizationpolicies",
           "ConfigMap": "configmaps"}  # the ApplySet parent of the hosts' objects
APPLYSET_PARENT = "meshops-egress-hosts-cluster-a"
FIRST = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
    {"host": "mtls.example.com", "tls_origination": True, "credential_name": "egress-client"},
]
# httpbin.org removed, edition.cnn.com moved from 80 to a port the gateway Service must gain, postman-echo.com added.
CHANGED = [FIRST[1] | {"ports": [{"number": 443, "protocol": "TLS"}, {"number": 8443, "protocol": "TLS"}]}, FIRST[2], FIRST[3],
           {"host": "postman-echo.com"}]


@pytest.fixture
def cluster(apiserver):
    """Istio with its mesh config; no egress gateway yet: the first run installs it (manifest)."""
    install_istio(apiserver)
    for path in ("/apis/apps/v1/namespaces/istio-system/deployments/", "/api/v1/namespaces/istio-system/services/"):
        apiserver.request("DELETE", path + "istio-egressgateway")
    # The real run waits for the gateway it installs; no Deployment controller runs here.
    apiserver.roll_out_deployments()
    return apiserver


# Everything a run of site.yml may write, in the namespace where it writes.
STATEFUL = tuple(PLURALS.values()) + ("configmaps", "deployments", "services", "serviceaccounts", "roles",
                                      "rolebindings", "horizontalpodautoscalers", "poddisruptionbudgets")


def stored(server):
    """What the API server holds, {(resource, name): object}, without what the kubelet
    stand-in's status writes change."""
    result = {}
    for plural in STATEFUL:
        for obj in server.objects(plural, "istio-system"):
            meta = dict((k, v) for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields"))
            result[(plural, meta["name"])] = dict({k: v for k, v in obj.items() if k != "status"}, metadata=meta)
    return result


def writes(server, dry_run):
    """(verb, resource, namespace, name) of every successful write, dry runs or real ones."""
    return Counter((r["verb"], r["plural"], r["namespace"], r["name"]) for r in server.requests
                   if r["verb"] in WRITES and r["dry_run"] == dry_run and 0 < r["status"] < 400)


def changed_tasks(result):
    return sorted(set(task for task, _host, outcome in result.task_results() if outcome.get("changed")))


def egress_hosts_result(result):
    [report] = [outcome for _task, _host, outcome in result.task_results() if "virtual_services" in outcome]
    return report


def module_report(result):
    """What the egress_hosts task said it did (or would do)."""
    report = egress_hosts_result(result)
    return {key: report.get(key) for key in ("objects", "virtual_services", "routes_added", "routes_updated", "routes_removed")}


def diffed(result):
    """Objects the diffs of the egress_hosts task show changing: {(resource, namespace, name)}."""
    shown = set()
    for diff in egress_hosts_result(result)["diff"]:
        side = diff["after"] or diff["before"]
        meta = side["metadata"]
        shown.add((PLURALS[side["kind"]], meta.get("namespace"), meta["name"]))
    return shown


def converge(server, tmp_path, hosts, **host_vars):
    """The --check --diff run, then the real run; returns both results, and
    the predicted and the real writes."""
    inventory = write_inventory(tmp_path, {"cluster-a": dict(
        {"external_services_hosts": hosts, "egress_gateway_install": "manifest",
         "egress_gateway_extra_ports": [{"number": 9000, "protocol": "TCP"}]}, **host_vars)})
    before = stored(server)
    server.reset_counts()
    check = run_playbook(SITE, inventory=inventory, kubeconfig=server.kubeconfig, check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert server.counts()["writes"] == 0
    # Not only no write the audit log calls real: nothing stored changed either.
    assert stored(server) == before
    predicted = writes(server, dry_run=True)
    server.reset_counts()
    real = run_playbook(SITE, inventory=inventory, kubeconfig=server.kubeconfig)
    assert real.rc == 0, real.stdout[-3000:] + real.stderr[-3000:]
    assert server.counts()["dry_run"] == 0
    return check, real, predicted, writes(server, dry_run=False)


def assert_honest(check, real, predicted, written):
    assert predicted == written, {"predicted only": predicted - written, "written only": written - predicted}
    assert changed_tasks(check) == changed_tasks(real)
    assert module_report(check) == module_report(real)
    routed = set((plural, ns, name) for (_verb, plural, ns, name) in written
                 if plural in PLURALS.values() and (plural != "configmaps" or name == APPLYSET_PARENT))
    assert diffed(check) == routed


def test_check_mode_predicts_the_first_run_a_change_and_a_prune(cluster, tmp_path):
    check, real, predicted, written = converge(cluster, tmp_path, FIRST)
    # The gateway installed, the mesh config patched, the egress objects created.
    assert {("patch", "configmaps", "istio-system", "istio"), ("create", "deployments", "istio-system", "istio-egressgateway")} <= set(written)
    assert len([w for w in written if w[:2] == ("create", "serviceentries")]) == 4
    # The gateway Service has the hosts' ports and the one asked for besides.
    [service] = cluster.objects("services", "istio-system")
    assert {80, 443, 9000} <= {port["port"] for port in service["spec"]["ports"]}
    assert_honest(check, real, predicted, written)

    check, real, predicted, written = converge(cluster, tmp_path, CHANGED)
    verbs = Counter(verb for verb, *_rest in written)
    assert verbs["create"] and verbs["update"] and verbs["delete"], written
    assert_honest(check, real, predicted, written)

    # An empty host list prunes everything only when asked to.
    check, real, predicted, written = converge(cluster, tmp_path, [], external_services_allow_empty_prune=True)
    deleted = {plural for (verb, plural, _ns, _name) in written if verb == "delete"}
    assert deleted >= {"serviceentries", "gateways", "destinationrules", "virtualservices"}
    assert_honest(check, real, predicted, written)
    assert not [obj for plural in PLURALS.values() if plural != "configmaps" for obj in cluster.objects(plural, "istio-system")]
    # the ApplySet parent stays, recording an empty set
    parent = cluster.get("configmaps", "istio-system", APPLYSET_PARENT)
    assert parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == ""
