"""meshops.istio_egress.virtual_service through real ansible-playbook runs
against the test control plane: a real kube-apiserver validating against
Istio's CRD schema, its audit log counting every request. Faults go through
the fault proxy; a request the proxy answers never reaches the API server, so
it shows in the fault's hits, not in the audit log."""
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


def play(server, tmp_path, *tasks, check=False, diff=False, name="play.yml", proxied=False):
    """Run one playbook whose tasks call the module with ``tasks`` (module
    args, or (args, task keywords)); ``proxied``: through the fault proxy.
    Returns (PlaybookResult, module results)."""
    body = []
    for index, task in enumerate(tasks):
        args, keywords = task if isinstance(task, tuple) else (task, {})
        body.append(dict({"name": "vs-%d" % index, MODULE: args, "ignore_errors": True}, **keywords))
    path = tmp_path / name
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": body}]))
    kubeconfig = server.proxied_kubeconfig if proxied else server.kubeconfig
    result = run_playbook(path, kubeconfig=kubeconfig, check=check, diff=diff)
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


def test_create_then_rerun_costs_one_get_and_no_write(apiserver, tmp_path):
    _result, [first] = play(apiserver, tmp_path, single())
    assert (first["changed"], first["operation"], first["routes_added"]) == (True, "create", ["http:eu1-mesh-80"])
    obj = live(apiserver)
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "eu1"}
    assert json.loads(obj["metadata"]["annotations"][ANN])["eu1"]["http"] == ["eu1-mesh-80"]
    assert apiserver.counts()["writes"] == 1

    apiserver.reset_counts()
    _result, [again] = play(apiserver, tmp_path, single())
    counts = apiserver.counts()
    assert (again["changed"], again["operation"]) == (False, "none")
    assert (counts["get"], counts["list"], counts["writes"], counts["dry_run"]) == (1, 0, 0, 0), counts


def test_merge_into_a_team_object_check_mode_then_diff(apiserver, tmp_path):
    seed_team_object(apiserver)
    before = live(apiserver)
    apiserver.reset_counts()
    result, [checked] = play(apiserver, tmp_path, single(), check=True, diff=True)
    counts = apiserver.counts()
    assert (checked["changed"], checked["operation"]) == (True, "update")
    assert (counts["writes"], counts["dry_run"]) == (0, 1), counts
    assert live(apiserver) == before
    assert result.changed() == 1

    _result, [applied] = play(apiserver, tmp_path, single(), diff=True)
    obj = live(apiserver)
    assert route_names(obj) == ["team-retries", "eu1-mesh-80", "team-default"]  # before the catch-all
    assert obj["metadata"]["labels"] == {"team": "payments"}  # a team's object never gets our labels
    for diff in (checked["diff"], applied["diff"]):
        assert [r["name"] for r in diff["before"]["spec"]["http"]] == ["team-retries", "team-default"]
        assert [r["name"] for r in diff["after"]["spec"]["http"]] == ["team-retries", "eu1-mesh-80", "team-default"]
        assert "resourceVersion" not in diff["before"]["metadata"] and ANN not in diff["before"]["metadata"].get("annotations", {})
    assert applied["diff"]["after"]["spec"] == obj["spec"]

    _result, [removed] = play(apiserver, tmp_path, {"name": NAME, "namespace": NS, "owner": "eu1", "state": "absent"})
    obj = live(apiserver)
    assert (removed["operation"], route_names(obj)) == ("update", ["team-retries", "team-default"])
    assert ANN not in obj["metadata"].get("annotations", {}) and obj["spec"]["gateways"] == ["mesh"]


def test_invalid_routes_fail_before_any_request_and_the_schema_catches_the_rest_in_check_mode(apiserver, tmp_path):
    typo = single(routes=[{"name": "r", "match": [{"gateway": ["mesh"]}], "route": route("x")["route"]}])
    schema = single(routes=[route("r", retries={"attempts": "three"})])
    _result, [local, remote] = play(apiserver, tmp_path, typo, schema, check=True)
    assert local["failed"] and "http[0].match[0]: unknown key 'gateway' (did you mean 'gateways'?)" in local["msg"]
    assert remote["failed"] and "attempts" in remote["msg"], remote["msg"]
    assert apiserver.counts()["writes"] == 0 and live(apiserver) is None
    assert [r["verb"] for r in apiserver.requests if r["verb"] != "discovery"] == ["get", "create"]  # the check-mode dry run


def test_stale_resource_version_is_re_read_and_re_merged(apiserver, tmp_path):
    seed_team_object(apiserver, routes=[TEAM_CATCH_ALL])
    apiserver.reset_counts()
    # Hold our PUT long enough for another writer to update the object first.
    fault = apiserver.inject_fault({"verb": "update", "name": NAME}, status=None, delay=2.0)
    runner = ThreadPoolExecutor(1).submit(play, apiserver, tmp_path, single(), proxied=True)
    deadline = time.time() + 60
    while fault.hits == 0 and time.time() < deadline:
        time.sleep(0.02)
    team = apiserver.request("GET", VS_PATH + "/" + NAME)
    team["spec"]["http"].insert(0, TEAM_ROUTE)
    apiserver.request("PUT", VS_PATH + "/" + NAME, team)
    _result, [merged] = runner.result(timeout=120)
    assert merged["changed"] and merged["routes_added"] == ["http:eu1-mesh-80"]
    assert route_names(live(apiserver)) == ["team-retries", "eu1-mesh-80", "team-default"]
    # The module's requests only (the other writer is the fixture's admin): the held
    # PUT carried the resourceVersion it read, so the API server refused it.
    calls = [(r["verb"], r["status"]) for r in apiserver.requests if r["verb"] in ("get", "update")]
    assert calls == [("get", 200), ("update", 409), ("get", 200), ("update", 200)], calls


def test_create_racing_another_creator_merges_into_its_object(apiserver, tmp_path):
    seed_team_object(apiserver)
    apiserver.reset_counts()
    # The proxy answers our first GET 404: as if the object appeared after it.
    missed = apiserver.inject_fault({"verb": "get", "name": NAME}, status=404)
    _result, [merged] = play(apiserver, tmp_path, single(), proxied=True)
    assert merged["operation"] == "update"
    assert route_names(live(apiserver)) == ["team-retries", "eu1-mesh-80", "team-default"]
    calls = [(r["verb"], r["status"]) for r in apiserver.requests if r["verb"] != "discovery"]
    assert missed.hits == 1
    assert calls == [("create", 409), ("get", 200), ("update", 200)], calls


def test_a_conflict_that_never_ends_fails_clearly_and_writes_nothing(apiserver, tmp_path):
    seed_team_object(apiserver)
    apiserver.reset_counts()
    conflict = apiserver.inject_fault({"verb": "update", "name": NAME}, status=409, times=None)
    _result, [failed] = play(apiserver, tmp_path, single(conflict_retries=2), proxied=True)
    assert failed["failed"] and "still conflicting after 2 retries" in failed["msg"], failed["msg"]
    # Every PUT met the proxy's 409; each was preceded by a fresh read.
    counts = apiserver.counts()
    assert (conflict.hits, counts["get"], counts["update"], counts["writes"]) == (3, 3, 0, 0), counts


def _batch(count, owner="eu1", prune=False, offset=0):
    items = [{"name": "svc-%03d" % i, "hosts": ["svc-%03d.example.com" % i], "gateways": ["mesh"],
              "tls": [{"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": ["svc-%03d.example.com" % i]}],
                       "route": [{"destination": {"host": "svc-%03d.example.com" % i, "port": {"number": 443}}}]}]}
             for i in range(offset, offset + count)]
    return {"namespace": NS, "owner": owner, "prune": prune, "virtual_services": items}


def test_batch_no_op_over_50_costs_one_list_and_no_write(apiserver, tmp_path):
    _result, [created] = play(apiserver, tmp_path, _batch(50))
    assert created["counts"] == {"create": 50, "update": 0, "delete": 0, "none": 0}
    assert created["routes_added"][0] == "istio-system/svc-000: tls:mesh:443:svc-000.example.com"
    apiserver.reset_counts()
    _result, [again] = play(apiserver, tmp_path, _batch(50))
    counts = apiserver.counts()
    print("batch no-op over 50 VirtualServices:", counts)
    assert (again["changed"], again["counts"]["none"]) == (False, 50)
    assert (counts["list"], counts["get"], counts["writes"], counts["dry_run"]) == (1, 0, 0, 0), counts


def test_batch_prune_releases_only_this_owners_routes(apiserver, tmp_path):
    seed_team_object(apiserver, name="svc-002", routes=[TEAM_ROUTE])
    _result, [_unused, first] = play(apiserver, tmp_path, _batch(1, owner="us1", offset=5), _batch(3))
    assert first["counts"] == {"create": 2, "update": 1, "delete": 0, "none": 0}
    apiserver.reset_counts()
    _result, [pruned] = play(apiserver, tmp_path, _batch(1, prune=True), diff=True)
    assert pruned["counts"] == {"create": 0, "update": 1, "delete": 1, "none": 1}, pruned["results"]
    names = sorted(obj["metadata"]["name"] for obj in apiserver.objects("virtualservices", NS))
    assert names == ["svc-000", "svc-002", "svc-005"]  # ours gone, the team's and us1's kept
    team = live(apiserver, "svc-002")
    assert (team["spec"].get("tls"), route_names(team), team["metadata"].get("annotations")) == (None, ["team-retries"], None)
    assert len(pruned["diff"]) == 2
    assert apiserver.counts()["list"] == 1 and apiserver.counts()["writes"] == 2


def test_eight_concurrent_playbooks_merging_into_one_object_lose_no_route(apiserver, tmp_path):
    def writer(index):
        owner = "team-%d" % index
        return play(apiserver, tmp_path, single(owner=owner, routes=[route(owner + "-route", 8000 + index)]),
                    name="writer-%d.yml" % index, proxied=True)

    # Writes are held a little, so writers overlap between their read and their write.
    apiserver.inject_fault(lambda r: r["plural"] == "virtualservices" and r["verb"] in ("create", "update"),
                           status=None, delay=0.2, times=None)
    start = threading.Barrier(8)

    def synchronised(index):
        start.wait()
        return writer(index)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(synchronised, range(8)))
    failures = [out.get("msg") for _result, [out] in outcomes if out.get("failed")]
    assert not failures, failures
    obj = live(apiserver)
    conflicts = sum(1 for r in apiserver.requests if r["verb"] in ("create", "update") and r["status"] == 409)
    print("8 concurrent writers: %d routes present, %d owners recorded, %d conflicts retried"
          % (len(route_names(obj)), len(json.loads(obj["metadata"]["annotations"][ANN])), conflicts))
    assert sorted(route_names(obj)) == sorted("team-%d-route" % i for i in range(8))
    assert sorted(json.loads(obj["metadata"]["annotations"][ANN])) == ["team-%d" % i for i in range(8)]

    # Every owner lets go in turn: the object stays while a route is left, then goes.
    absent = {"name": NAME, "namespace": NS, "owner": "team-{{ item }}", "state": "absent"}
    _result, [released] = play(apiserver, tmp_path, (absent, {"loop": list(range(8))}), name="release.yml")
    assert [r.get("operation") for r in released["results"]] == ["update"] * 7 + ["delete"], released["results"]
    assert live(apiserver) is None
