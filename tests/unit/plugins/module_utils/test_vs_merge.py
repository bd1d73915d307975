"""VirtualService merging: tables of (live object, what one owner wants) -> result."""
import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils import _vs_apply as vs_apply, _vs_routes as vs_routes
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_merge import MergeError, merge

ANN = "egress.meshops.io/routes"
OURS = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "eu1"}
CRDS = Path(__file__).resolve().parents[5] / "shared" / "istio" / "crd-all.gen.yaml"


def http(name, port=80, gateways=("mesh",), host="istio-egressgateway.istio-system.svc.cluster.local", **extra):
    route = {"name": name, "match": [{"gateways": list(gateways), "port": port}],
             "route": [{"destination": {"host": host, "port": {"number": port}}}]}
    route.update(extra)
    return route


def tls(sni, port=443, gateways=("mesh",)):
    return {"match": [{"gateways": list(gateways), "port": port, "sniHosts": [sni]}],
            "route": [{"destination": {"host": sni, "port": {"number": port}}}]}


TEAM_API = {"name": "team-api", "match": [{"uri": {"prefix": "/api"}}], "retries": {"attempts": 3},
            "route": [{"destination": {"host": "httpbin.org"}}]}
TEAM_DEFAULT = {"name": "team-default", "timeout": "5s", "route": [{"destination": {"host": "httpbin.org"}}]}


def want(http_routes=(), tls_routes=(), hosts=("httpbin.org",), gateways=("mesh", "istio-egressgateway"), export_to=(), name="vs"):
    return {"name": name, "namespace": "default", "hosts": list(hosts), "gateways": list(gateways),
            "exportTo": list(export_to), "http": list(http_routes), "tls": list(tls_routes), "tcp": []}


def record(owner="eu1", **fields):
    return {owner: fields}


def live(spec, records=None, labels=None, **server):
    """A VirtualService as the server returns it, with its server-filled fields."""
    metadata = {"name": "vs", "namespace": "default", "uid": "0d5f", "resourceVersion": "42", "generation": 3,
                "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "kubectl"}]}
    if records is not None:
        metadata["annotations"] = {ANN: json.dumps(records)}
    if labels:
        metadata["labels"] = dict(labels)
    metadata.update(server)
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": metadata, "spec": spec}


MINE = record(http=["eu1-80"], hosts=["httpbin.org"], gateways=["istio-egressgateway", "mesh"])
OURS_LIVE = live({"hosts": ["httpbin.org"], "gateways": ["mesh", "istio-egressgateway"], "http": [http("eu1-80")]}, MINE, OURS)
FOREIGN = live({"hosts": ["httpbin.org"], "http": [TEAM_API, TEAM_DEFAULT]})
MERGED_INTO_FOREIGN = live({"hosts": ["httpbin.org"], "gateways": ["mesh", "istio-egressgateway"],
                            "http": [TEAM_API, http("eu1-80"), TEAM_DEFAULT]},
                           record(http=["eu1-80"], gateways=["istio-egressgateway"]))

# id, live, wanted, owner, state, action, expected spec (None: no body), added, updated, removed
CASES = [
    ("create", None, want([http("eu1-80")]), "eu1", "present", "create",
     {"hosts": ["httpbin.org"], "gateways": ["mesh", "istio-egressgateway"], "http": [http("eu1-80")]},
     ["http:eu1-80"], [], []),
    ("absent-and-missing-is-a-no-op", None, want(), "eu1", "absent", "none", None, [], [], []),
    ("rerun-is-a-no-op", OURS_LIVE, want([http("eu1-80")]), "eu1", "present", "none", OURS_LIVE["spec"], [], [], []),
    ("add-to-foreign-object-before-its-catch-all", FOREIGN, want([http("eu1-80")]), "eu1", "present", "update",
     MERGED_INTO_FOREIGN["spec"], ["http:eu1-80"], [], []),
    ("merged-foreign-rerun-is-a-no-op", MERGED_INTO_FOREIGN, want([http("eu1-80")]), "eu1", "present", "none",
     MERGED_INTO_FOREIGN["spec"], [], [], []),
    ("update-ours", OURS_LIVE, want([http("eu1-80", timeout="10s")]), "eu1", "present", "update",
     {"hosts": ["httpbin.org"], "gateways": ["mesh", "istio-egressgateway"], "http": [http("eu1-80", timeout="10s")]},
     [], ["http:eu1-80"], []),
    ("remove-ours-dropped-from-input",
     live({"hosts": ["httpbin.org"], "http": [http("a"), TEAM_API, http("b")]}, record(http=["a", "b"]), OURS),
     want([http("b")], gateways=()), "eu1", "present", "update",
     {"hosts": ["httpbin.org"], "http": [TEAM_API, http("b")]}, [], [], ["http:a"]),
    ("new-route-goes-before-our-later-route",
     live({"hosts": ["httpbin.org"], "http": [TEAM_API, http("b")]}, record(http=["b"]), OURS),
     want([http("a"), http("b")], gateways=()), "eu1", "present", "update",
     {"hosts": ["httpbin.org"], "http": [TEAM_API, http("a"), http("b")]}, ["http:a"], [], []),
    ("match-without-conditions-is-a-catch-all",
     live({"hosts": ["httpbin.org"], "http": [dict(TEAM_DEFAULT, match=[{"gateways": ["mesh"]}])]}),
     want([http("eu1-80")], gateways=()), "eu1", "present", "update",
     {"hosts": ["httpbin.org"], "http": [http("eu1-80"), dict(TEAM_DEFAULT, match=[{"gateways": ["mesh"]}])]},
     ["http:eu1-80"], [], []),
    ("tls-identity-ignores-order-and-port-type",
     live({"hosts": ["cnn.com"], "tls": [{"match": [{"sniHosts": ["cnn.com"], "port": "443", "gateways": ["mesh"]}],
                                          "route": tls("cnn.com")["route"]}]},
          record(tls=[[{"gateways": ["mesh"], "port": 443, "sniHosts": ["cnn.com"]}]], hosts=["cnn.com"]), OURS),
     want(tls_routes=[tls("cnn.com")], hosts=["cnn.com"], gateways=()), "eu1", "present", "none",
     {"hosts": ["cnn.com"], "tls": [{"match": [{"sniHosts": ["cnn.com"], "port": "443", "gateways": ["mesh"]}],
                                     "route": tls("cnn.com")["route"]}]}, [], [], []),
    ("tls-routes-with-other-matches-are-distinct",
     live({"hosts": ["cnn.com"], "tls": [tls("cnn.com", gateways=["istio-egressgateway"])]}),
     want(tls_routes=[tls("cnn.com")], hosts=["cnn.com"], gateways=()), "eu1", "present", "update",
     {"hosts": ["cnn.com"], "tls": [tls("cnn.com", gateways=["istio-egressgateway"]), tls("cnn.com")]},
     ["tls:mesh:443:cnn.com"], [], []),
    ("hosts-union-keeps-order",
     live({"hosts": ["a.org", "b.org"], "http": [TEAM_API]}),
     want([http("x")], hosts=["c.org", "a.org"], gateways=["mesh"]), "eu1", "present", "update",
     {"hosts": ["a.org", "b.org", "c.org"], "gateways": ["mesh"], "http": [TEAM_API, http("x")]}, ["http:x"], [], []),
    ("absent-leaves-foreign-as-it-was", MERGED_INTO_FOREIGN, want(), "eu1", "absent", "update",
     dict(FOREIGN["spec"], gateways=["mesh"]), [], [], ["http:eu1-80"]),
    ("absent-deletes-when-only-ours", OURS_LIVE, want(), "eu1", "absent", "delete", None, [], [], ["http:eu1-80"]),
    ("absent-never-deletes-a-foreign-object",
     live({"hosts": ["httpbin.org"], "http": [http("eu1-80")]}, record(http=["eu1-80"])), want(), "eu1", "absent",
     "update", {"hosts": ["httpbin.org"]}, [], [], ["http:eu1-80"]),
    ("absent-of-another-owner-changes-nothing", OURS_LIVE, want(), "other", "absent", "none", OURS_LIVE["spec"], [], [], []),
    ("co-own-identical-route", OURS_LIVE, want([http("eu1-80")]), "us1", "present", "update", OURS_LIVE["spec"],
     ["http:eu1-80"], [], []),
    ("co-owned-route-stays-until-last-owner-leaves",
     live(OURS_LIVE["spec"], dict(MINE, us1={"http": ["eu1-80"], "gateways": ["mesh"]}), OURS),
     want(), "eu1", "absent", "update", {"hosts": ["httpbin.org"], "gateways": ["mesh"], "http": [http("eu1-80")]},
     [], [], ["http:eu1-80"]),
    ("exportTo-of-a-shared-object-is-not-narrowed", FOREIGN, want([http("eu1-80")], gateways=(), export_to=["."]),
     "eu1", "present", "update", {"hosts": ["httpbin.org"], "http": [TEAM_API, http("eu1-80"), TEAM_DEFAULT]},
     ["http:eu1-80"], [], []),
    ("server-fields-and-string-ports-are-no-change",
     live({"hosts": ["httpbin.org"], "gateways": ["mesh", "istio-egressgateway"],
           "http": [http("eu1-80", port="80")]}, MINE, OURS, selfLink="/x"),
     want([http("eu1-80")]), "eu1", "present", "none", None, [], [], []),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_merge(case):
    live_obj, wanted, owner, state, action, spec, added, updated, removed = case[1:]
    before = copy.deepcopy(live_obj)
    result = merge(live_obj, wanted, owner, state)
    assert live_obj == before, "merge must not modify its input"
    assert (result.action, result.routes_added, result.routes_updated, result.routes_removed) == (action, added, updated, removed)
    if spec is not None:
        assert result.obj["spec"] == spec
    if action == "none":
        assert result.obj is None or result.obj == live_obj or live_obj is None


def test_created_object_carries_labels_and_annotation():
    obj = merge(None, want([http("eu1-80")], tls_routes=[tls("httpbin.org")]), "eu1").obj
    assert obj["metadata"]["labels"] == OURS
    assert json.loads(obj["metadata"]["annotations"][ANN]) == {"eu1": {
        "gateways": ["istio-egressgateway", "mesh"], "hosts": ["httpbin.org"], "http": ["eu1-80"],
        "tls": [[{"gateways": ["mesh"], "port": 443, "sniHosts": ["httpbin.org"]}]]}}


def test_foreign_object_never_gets_our_labels_and_keeps_its_annotations():
    foreign = live(FOREIGN["spec"], labels={"team": "payments"}, annotations={"team/note": "keep"})
    obj = merge(foreign, want([http("eu1-80")]), "eu1").obj
    assert obj["metadata"]["labels"] == {"team": "payments"}
    assert json.loads(obj["metadata"]["annotations"][ANN]) == json.loads(MERGED_INTO_FOREIGN["metadata"]["annotations"][ANN])
    assert obj["metadata"]["annotations"]["team/note"] == "keep"
    after = merge(obj, want(), "eu1", "absent").obj
    assert after["metadata"]["annotations"] == {"team/note": "keep"}


def test_implicit_mesh_gateway_is_kept_for_foreign_routes():
    result = merge(FOREIGN, want([http("eu1-80", gateways=["istio-egressgateway"])], gateways=["istio-egressgateway"]), "eu1")
    assert result.obj["spec"]["gateways"] == ["mesh", "istio-egressgateway"]


def test_creator_leaving_hands_the_owner_label_to_a_remaining_owner():
    shared = live(OURS_LIVE["spec"], dict(MINE, us1={"http": ["eu1-80"]}), OURS)
    obj = merge(shared, want(), "eu1", "absent").obj
    assert obj["metadata"]["labels"]["egress.meshops.io/owner"] == "us1"


@pytest.mark.parametrize("live_obj, owner, message", [
    (live({"hosts": ["httpbin.org"], "http": [dict(http("eu1-80"), timeout="1s")]}), "eu1",
     "route http:eu1-80 already exists and is not ours"),
    (live({"hosts": ["httpbin.org"], "http": [http("eu1-80")]}), "eu1", "refusing to take over another writer's route"),
    (live({"hosts": ["httpbin.org"], "http": [dict(http("eu1-80"), timeout="1s")]}, record("us1", http=["eu1-80"])), "eu1",
     "route http:eu1-80 belongs to owner(s) us1 with different content"),
    (live({"hosts": ["httpbin.org"], "http": [dict(http("eu1-80"), timeout="1s")]},
          dict(record("us1", http=["eu1-80"]), eu1={"http": ["eu1-80"]})), "eu1", "is co-owned by us1"),
    (live({"hosts": ["x"], "tls": [tls("httpbin.org")]}), "eu1", "route tls:mesh:443:httpbin.org already exists"),
    (dict(OURS_LIVE, kind="Gateway"), "eu1", "the live object is a Gateway, not a VirtualService"),
    (live({"hosts": ["x"]}, annotations={ANN: "not json"}), "eu1", "annotation egress.meshops.io/routes is not a JSON object"),
    (live({"hosts": ["x"]}, annotations={ANN: '{"eu1": ["a"]}'}), "eu1", "the entry of owner 'eu1' is malformed"),
], ids=["foreign-different", "foreign-identical", "other-owner-different", "co-owned-change", "foreign-tls",
        "other-kind", "bad-annotation", "bad-record"])
def test_refusals(live_obj, owner, message):
    routes = [http("eu1-80")] if "tls" not in live_obj["spec"] else []
    with pytest.raises(MergeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        merge(live_obj, want(routes, tls_routes=[tls("httpbin.org")] if not routes else []), owner)


@pytest.mark.parametrize("wanted, message", [
    (want([{"name": "a", "match": [{"gateway": ["mesh"]}]}]),
     "http[0].match[0]: unknown key 'gateway' (did you mean 'gateways'?)"),
    (want([http("a"), {"match": [{"port": 80}]}]), "http[1].name: required"),
    (want([http("a"), http("a")]), "http[1]: same identity (http:a) as http[0]"),
    (want(["not-a-dict"]), "http[0]: must be a dict, got str"),
    (want([{"name": "a", "match": {"port": 80}}]), "http[0].match: must be a list"),
    (want([{"name": "a", "route": [{"destination": {"port": {"number": 80}}}]}]), "http[0].route[0].destination.host: required"),
    (want([{"name": "a", "route": [{"host": "x"}]}]), "http[0].route[0]: unknown key 'host'"),
    (want([{"name": "a", "retry": {"attempts": 3}}]), "http[0]: unknown key 'retry' (did you mean 'retries'?)"),
    (want([{"name": "a", "match": [{"port": "eighty"}]}]), "http[0].match[0].port: must be a port number"),
    (want(tls_routes=[{"match": [{"port": 443}]}]), "tls[0].match[0].sniHosts: must be a list of non-empty strings"),
    (want(tls_routes=[{"route": []}]), "tls[0].match: required"),
    (want(tls_routes=[tls("a"), tls("a")]), "tls[1]: same identity (tls:mesh:443:a) as tls[0]"),
    (want([http("a")], hosts=[]), "hosts: must not be empty"),
    (want(), "at least one route is required"),
    (dict(want([http("a")]), name=""), "name: required"),
    (dict(want([http("a")]), name="Httpbin_Org"), "name: 'Httpbin_Org' is not a valid object name"),
], ids=["gateway-typo", "no-name", "duplicate-name", "not-dict", "match-not-list", "no-host", "route-key",
        "route-field-typo", "bad-port", "tls-no-sni", "tls-no-match", "tls-duplicate", "no-hosts", "no-routes", "no-name-vs",
        "bad-name-vs"])
def test_invalid_input_is_refused_before_anything(wanted, message):
    with pytest.raises(MergeError) as excinfo:
        merge(None, wanted, "eu1")
    assert message in str(excinfo.value)
    assert "VirtualService default/" in str(excinfo.value)


def test_an_invalid_namespace_is_refused():
    with pytest.raises(MergeError, match="namespace: 'Istio-System' is not a valid namespace name"):
        merge(None, dict(want([http("a")]), namespace="Istio-System"), "eu1")


def test_all_input_errors_are_reported_at_once():
    with pytest.raises(MergeError) as excinfo:
        merge(None, want([{"match": [{"gateway": ["mesh"]}]}], hosts=[]), "eu1")
    assert all(part in str(excinfo.value) for part in ("hosts:", "http[0].name", "http[0].match[0]: unknown key 'gateway'"))


@pytest.mark.parametrize("kind, route, readable", [
    ("http", http("meshops-httpbin-mesh-80"), "http:meshops-httpbin-mesh-80"),
    ("tls", tls("edition.cnn.com"), "tls:mesh:443:edition.cnn.com"),
    ("tcp", {"match": [{"port": 3306, "destinationSubnets": ["10.0.0.0/8"]}]}, 'tcp:*:3306:destinationSubnets=["10.0.0.0/8"]'),
    ("tcp", {"route": [{"destination": {"host": "db"}}]}, "tcp:*"),
])
def test_readable_identities(kind, route, readable):
    assert vs_routes.describe_identity(vs_routes.route_identity(kind, route)) == readable


def _crd_spec():
    for doc in yaml.load_all(CRDS.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if doc and doc["spec"]["names"]["kind"] == "VirtualService":
            return doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    raise AssertionError("no VirtualService CRD")


@pytest.mark.skipif(not CRDS.exists(), reason="Istio CRD bundle not beside the project")
def test_field_names_match_istio_schema():
    """Our local typo check must know exactly the fields Istio's schema knows."""
    spec = _crd_spec()
    props = dict((kind, spec[kind]["items"]["properties"]) for kind in ("http", "tls", "tcp"))
    assert set(props["http"]) == vs_routes.HTTP_ROUTE_FIELDS
    assert set(props["http"]["match"]["items"]["properties"]) == vs_routes.HTTP_MATCH_FIELDS
    assert set(props["http"]["route"]["items"]["properties"]) == vs_routes.HTTP_DESTINATION_FIELDS
    assert set(props["http"]["route"]["items"]["properties"]["destination"]["properties"]) == vs_routes.DESTINATION_FIELDS
    assert set(props["tls"]["match"]["items"]["properties"]) == vs_routes.TLS_MATCH_FIELDS
    assert set(props["tcp"]["match"]["items"]["properties"]) == vs_routes.TCP_MATCH_FIELDS
    for kind in ("tls", "tcp"):
        assert set(props[kind]) == vs_routes.L4_ROUTE_FIELDS
        assert set(props[kind]["route"]["items"]["properties"]) == vs_routes.L4_DESTINATION_FIELDS


def test_a_gateway_still_named_by_a_co_owned_route_passes_to_its_remaining_owner():
    """us1 brought in gateway egress-b; eu1's co-owned route names it in its
    match, so when us1 leaves the gateway stays and eu1 inherits the claim."""
    routes = [http("shared", gateways=["egress-b"])]
    obj = merge(None, want(routes, gateways=["mesh"]), "eu1").obj
    obj = merge(obj, want(routes, gateways=["egress-b"]), "us1").obj
    assert obj["spec"]["gateways"] == ["mesh", "egress-b"]
    obj = merge(obj, want(), "us1", "absent").obj
    assert obj["spec"]["gateways"] == ["mesh", "egress-b"]
    assert json.loads(obj["metadata"]["annotations"][ANN])["eu1"]["gateways"] == ["egress-b", "mesh"]
    assert merge(obj, want(), "eu1", "absent").action == "delete"


@pytest.mark.parametrize("params, message", [
    ({"virtual_services": [{"name": "a", "hosts": ["x"], "http": [http("r")]}]}, "virtual_services[0]: VirtualService None/a"),
    ({"namespace": "ns", "virtual_services": [{"name": "a", "hosts": ["x"], "http": [http("r")]}] * 2},
     "virtual_services[1]: VirtualService ns/a is listed twice"),
    ({"prune": True, "virtual_services": []}, "prune: needs namespace"),
    ({"namespace": "ns", "prune": True, "name": "a", "hosts": ["x"], "http": [http("r")]}, "prune: only with virtual_services"),
    ({"namespace": "ns", "name": "a", "hosts": ["x"], "http": [http("r")], "conflict_retries": -1}, "conflict_retries: must be 0 or more"),
    ({"namespace": "ns", "name": "a", "hosts": ["x"], "http": [{"name": "r", "match": [{"gateway": ["mesh"]}]}]},
     "http[0].match[0]: unknown key 'gateway'"),
], ids=["item-without-namespace", "duplicate-item", "prune-without-namespace", "prune-in-single-mode", "negative-retries", "typo"])
def test_module_input_is_refused_before_connecting(params, message):
    defaults = {"owner": "eu1", "state": "present", "conflict_retries": 5, "prune": False, "namespace": None,
                "api_version": "networking.istio.io/v1", "virtual_services": None}
    with pytest.raises(MergeError) as excinfo:
        vs_apply.run(dict(defaults, **params), connect=lambda: pytest.fail("connected despite invalid input"))
    assert message in str(excinfo.value)
