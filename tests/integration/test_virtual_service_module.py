"""meshops.istio_egress.virtual_service through real ansible-playbook runs
against the test API server, which validates against Istio's CRD schema and
counts every request."""
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from helpers.playbook import run_playbook

MODULE = "meshops.istio_egress.virtual_service"
NS = "istio-system"
NAME = "httpbin-org"
ANN = "egress.meshops.io/routes"
EGRESS = "istio-egressgateway.istio-system.svc.cluster.local"
VS_PATH = "/apis/networking.istio.io/v1/namespaces/%s/virtualservices" % NS


def route(name, port=80, **extra):
    return dict({"name": name, "match": [{"gateways": ["mesh"], "port": port}],
                 "route": [{"destination": {"host": EGRESS, "port": {"number": port}}}]}, **extra)


TEAM_ROUTE = {"name": "team-retries", "match": [{"uri": {"prefix": "/status"}}], "retries": {"attempts": 3},
              "route": [{"destination": {"host": "httpbin.org"}}]}
TEAM_CATCH_ALL = {"name": "team-default", "timeout": "5s", "route": [{"destination": {"host": "httpbin.org"}}]}


def single(owner="eu1", name=NAME, routes=None, **extra):
    args = {"name": name, "namespace": NS, "owner": owner, "hosts": ["httpbin.org"],
            "gateways": ["mesh", "istio-egressgateway"], "http": routes or [route(owner + "-mesh-80")]}
    args.update(extra)
    return args


def play(server, tmp_path, *tasks, check=False, diff=False, name="play.yml"):
    """Run one playbook whose tasks call the module with ``tasks`` (module
    args, or (args, task keywords)); returns (PlaybookResult, module results)."""
    body = []
    for index, task in enumerate(tasks):
        args, keywords = task if isinstance(task, tuple) else (task, {})
        body.append(dict({"name": "vs-%d" % index, MODULE: args, "ignore_errors": True}, **keywords))
    path = tmp_path / name
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": body}]))
    result = run_playbook(path, kubeconfig=server.kubeconfig, check=check, diff=diff)
    assert result.stats, result.stdout[-3000:] + result.stderr[-3000:]
    return result, [outcome for _task, _host, outcome in result.task_results()]


def live(server, name=NAME):
    found = [obj for obj in server.objects("virtualservices", NS) if obj["metadata"]["name"] == name]
    return found[0] if found else None


def route_names(obj):
    return [r.get("name") for r in obj["spec"].get("http", [])]


def seed_team_object(server, name=NAME, routes=(TEAM_ROUTE, TEAM_CATCH_ALL)):
    body = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": NS, "labels": {"team": "payments"}},
            "spec": {"hosts": ["httpbin.org"], "http": list(routes)}}
    return server.request("POST", VS_PATH, body)


def test_create_then_rerun_costs_one_get_and_no_write(k8s_server, tmp_path):
    _result, [first] = play(k8s_server, tmp_path, single())
    assert (first["changed"], first["operation"], first["routes_added"]) == (True, "create", ["http:eu1-mesh-80"])
    obj = live(k8s_server)
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "eu1"}
    assert json.loads(obj["metadata"]["annotations"][ANN])["eu1"]["http"] == ["eu1-mesh-80"]
    assert k8s_server.counts()["writes"] == 1

    k8s_server.reset_counts()
    _result, [again] = play(k8s_server, tmp_path, single())
    counts = k8s_server.counts()
    assert (again["changed"], again["operation"]) == (False, "none")
    assert (counts["get"], counts["list"], counts["writes"], counts["dry_run"]) == (1, 0, 0, 0), counts


def test_merge_into_a_team_object_check_mode_then_diff(k8s_server, tmp_path):
    seed_team_object(k8s_server)
    before = live(k8s_server)
    k8s_server.reset_counts()
    result, [checked] = play(k8s_server, tmp_path, single(), check=True, diff=True)
    counts = k8s_server.counts()
    assert (checked["changed"], checked["operation"]) == (True, "update")
    assert (counts["writes"], counts["dry_run"]) == (0, 1), counts
    assert live(k8s_server) == before
    assert result.changed() == 1

    _result, [applied] = play(k8s_server, tmp_path, single(), diff=True)
    obj = live(k8s_server)
    assert route_names(obj) == ["team-retries", "eu1-mesh-80", "team-default"]  # before the catch-all
    assert obj["metadata"]["labels"] == {"team": "payments"}  # a team's object never gets our labels
    for diff in (checked["diff"], applied["diff"]):
        assert [r["name"] for r in diff["before"]["spec"]["http"]] == ["team-retries", "team-default"]
        assert [r["name"] for r in diff["after"]["spec"]["http"]] == ["team-retries", "eu1-mesh-80", "team-default"]
        assert "resourceVersion" not in diff["before"]["metadata"] and ANN not in diff["before"]["metadata"].get("annotations", {})
    assert applied["diff"]["after"]["spec"] == obj["spec"]

    _result, [removed] = play(k8s_server, tmp_path, {"name": NAME, "namespace": NS, "owner": "eu1", "state": "absent"})
    obj = live(k8s_server)
    assert (removed["operation"], route_names(obj)) == ("update", ["team-retries", "team-default"])
    assert ANN not in obj["metadata"].get("annotations", {}) and obj["spec"]["gateways"] == ["mesh"]


def test_invalid_routes_fail_before_any_request_and_the_schema_catches_the_rest_in_check_mode(k8s_server, tmp_path):
    typo = single(routes=[{"name": "r", "match": [{"gateway": ["mesh"]}], "route": route("x")["route"]}])
    schema = single(routes=[route("r", retries={"attempts": "three"})])
    _result, [local, remote] = play(k8s_server, tmp_path, typo, schema, check=True)
    assert local["failed"] and "http[0].match[0]: unknown key 'gateway' (did you mean 'gateways'?)" in local["msg"]
    assert remote["failed"] and "attempts" in remote["msg"], remote["msg"]
    assert k8s_server.counts()["writes"] == 0 and live(k8s_server) is None
    assert [r["verb"] for r in k8s_server.requests if r["verb"] != "discovery"] == ["get", "create"]  # the check-mode dry run


def test_stale_resource_version_is_re_read_and_re_merged(k8s_server, tmp_path):
    seed_team_object(k8s_server, routes=[TEAM_CATCH_ALL])
    k8s_server.reset_counts()
    # Hold our PUT long enough for another writer to update the object first.
    fault = k8s_server.inject_fault({"verb": "update", "name": NAME}, status=None, delay=2.0)
    runner = ThreadPoolExecutor(1).submit(play, k8s_server, tmp_path, single())
    deadline = time.time() + 60
    while fault.hits == 0 and time.time() < deadline:
        time.sleep(0.02)
    team = k8s_server.request("GET", VS_PATH + "/" + NAME)
    team["spec"]["http"].insert(0, TEAM_ROUTE)
    k8s_server.request("PUT", VS_PATH + "/" + NAME, team)
    _result, [merged] = runner.result(timeout=120)
    assert merged["changed"] and merged["routes_added"] == ["http:eu1-mesh-80"]
    assert route_names(live(k8s_server)) == ["team-retries", "eu1-mesh-80", "team-default"]
    calls = [(r["verb"], r["status"]) for r in k8s_server.requests if r["verb"] in ("get", "update")]
    assert calls == [("get", 200), ("get", 200), ("update", 200), ("update", 409), ("get", 200), ("update", 200)], calls


def test_create_racing_another_creator_merges_into_its_object(k8s_server, tmp_path):
    seed_team_object(k8s_server)
    k8s_server.reset_counts()
    k8s_server.inject_fault({"verb": "get", "name": NAME}, status=404)  # as if it appeared after our GET
    _result, [merged] = play(k8s_server, tmp_path, single())
    assert merged["operation"] == "update"
    assert route_names(live(k8s_server)) == ["team-retries", "eu1-mesh-80", "team-default"]
    calls = [(r["verb"], r["status"]) for r in k8s_server.requests if r["verb"] != "discovery"]
    assert calls == [("get", 404), ("create", 409), ("get", 200), ("update", 200)], calls


def test_a_conflict_that_never_ends_fails_clearly_and_writes_nothing(k8s_server, tmp_path):
    seed_team_object(k8s_server)
    k8s_server.reset_counts()
    k8s_server.inject_fault({"verb": "update", "name": NAME}, status=409, times=None)
    _result, [failed] = play(k8s_server, tmp_path, single(conflict_retries=2))
    assert failed["failed"] and "still conflicting after 2 retries" in failed["msg"], failed["msg"]
    counts = k8s_server.counts()
    assert (counts["get"], counts["update"], counts["writes"]) == (3, 3, 0), counts


def _batch(count, owner="eu1", prune=False, offset=0):
    items = [{"name": "svc-%03d" % i, "hosts": ["svc-%03d.example.com" % i], "gateways": ["mesh"],
              "tls": [{"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": ["svc-%03d.example.com" % i]}],
                       "route": [{"destination": {"host": "svc-%03d.example.com" % i, "port": {"number": 443}}}]}]}
             for i in range(offset, offset + count)]
    return {"namespace": NS, "owner": owner, "prune": prune, "virtual_services": items}


def test_batch_no_op_over_50_costs_one_list_and_no_write(k8s_server, tmp_path):
    _result, [created] = play(k8s_server, tmp_path, _batch(50))
    assert created["counts"] == {"create": 50, "update": 0, "delete": 0, "none": 0}
    assert created["routes_added"][0] == "istio-system/svc-000: tls:mesh:443:svc-000.example.com"
    k8s_server.reset_counts()
    _result, [again] = play(k8s_server, tmp_path, _batch(50))
    counts = k8s_server.counts()
    print("batch no-op over 50 VirtualServices:", counts)
    assert (again["changed"], again["counts"]["none"]) == (False, 50)
    assert (counts["list"], counts["get"], counts["writes"], counts["dry_run"]) == (1, 0, 0, 0), counts


def test_batch_prune_releases_only_this_owners_routes(k8s_server, tmp_path):
    seed_team_object(k8s_server, name="svc-002", routes=[TEAM_ROUTE])
    _result, [_unused, first] = play(k8s_server, tmp_path, _batch(1, owner="us1", offset=5), _batch(3))
    assert first["counts"] == {"create": 2, "update": 1, "delete": 0, "none": 0}
    k8s_server.reset_counts()
    _result, [pruned] = play(k8s_server, tmp_path, _batch(1, prune=True), diff=True)
    assert pruned["counts"] == {"create": 0, "update": 1, "delete": 1, "none": 1}, pruned["results"]
    names = sorted(obj["metadata"]["name"] for obj in k8s_server.objects("virtualservices", NS))
    assert names == ["svc-000", "svc-002", "svc-005"]  # ours gone, the team's and us1's kept
    team = live(k8s_server, "svc-002")
    assert (team["spec"].get("tls"), route_names(team), team["metadata"].get("annotations")) == (None, ["team-retries"], None)
    assert len(pruned["diff"]) == 2
    assert k8s_server.counts()["list"] == 1 and k8s_server.counts()["writes"] == 2


def test_eight_concurrent_playbooks_merging_into_one_object_lose_no_route(k8s_server, tmp_path):
    def writer(index):
        owner = "team-%d" % index
        return play(k8s_server, tmp_path, single(owner=owner, routes=[route(owner + "-route", 8000 + index)]),
                    name="writer-%d.yml" % index)

    # Writes are held a little, so writers overlap between their read and their write.
    k8s_server.inject_fault(lambda r: r["plural"] == "virtualservices" and r["verb"] in ("create", "update"),
                            status=None, delay=0.2, times=None)
    start = threading.Barrier(8)

    def synchronised(index):
        start.wait()
        return writer(index)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(synchronised, range(8)))
    failures = [out.get("msg") for _result, [out] in outcomes if out.get("failed")]
    assert not failures, failures
    obj = live(k8s_server)
    conflicts = sum(1 for r in k8s_server.requests if r["verb"] in ("create", "update") and r["status"] == 409)
    print("8 concurrent writers: %d routes present, %d owners recorded, %d conflicts retried"
          % (len(route_names(obj)), len(json.loads(obj["metadata"]["annotations"][ANN])), conflicts))
    assert sorted(route_names(obj)) == sorted("team-%d-route" % i for i in range(8))
    assert sorted(json.loads(obj["metadata"]["annotations"][ANN])) == ["team-%d" % i for i in range(8)]

    # Every owner lets go in turn: the object stays while a route is left, then goes.
    absent = {"name": NAME, "namespace": NS, "owner": "team-{{ item }}", "state": "absent"}
    _result, [released] = play(k8s_server, tmp_path, (absent, {"loop": list(range(8))}), name="release.yml")
    assert [r.get("operation") for r in released["results"]] == ["update"] * 7 + ["delete"], released["results"]
    assert live(k8s_server) is None
