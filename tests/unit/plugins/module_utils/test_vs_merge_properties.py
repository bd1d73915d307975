"""Properties of VirtualService merging over generated objects and owners."""
import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_merge import MergeError, merge
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import route_identity

GATEWAYS = ["mesh", "istio-egressgateway", "istio-system/egress"]
HOSTS = ["httpbin.org", "api.example.com", "cnn.com"]
OWNERS = ["eu1", "us1", "team-a"]


def _destination(host, port):
    return [{"destination": {"host": host, "port": {"number": port}}}]


@st.composite
def our_http(draw):
    """Our HTTP routes come from a small pool of names with two contents each,
    so owners both co-own identical routes and collide on different ones."""
    name = draw(st.sampled_from(["r-80", "r-8080", "r-api"]))
    port = draw(st.sampled_from([80, 8080]))
    route = {"name": name, "match": [{"gateways": [draw(st.sampled_from(GATEWAYS[:2]))], "port": port}],
             "route": _destination("istio-egressgateway.istio-system.svc.cluster.local", port)}
    if draw(st.booleans()):
        route["timeout"] = "10s"
    return route


@st.composite
def our_tls(draw):
    sni = draw(st.sampled_from(["ours-a.org", "ours-b.org"]))
    return {"match": [{"gateways": [draw(st.sampled_from(GATEWAYS[:2]))], "port": 443, "sniHosts": [sni]}],
            "route": _destination(sni, 443)}


def _unique_by_identity(kind, routes):
    seen, result = set(), []
    for route in routes:
        identity = route_identity(kind, route)
        if identity not in seen:
            seen.add(identity)
            result.append(route)
    return result


@st.composite
def wanted(draw):
    http = _unique_by_identity("http", draw(st.lists(our_http(), max_size=3)))
    tls = _unique_by_identity("tls", draw(st.lists(our_tls(), max_size=2)))
    if not http and not tls:
        http = [draw(our_http())]
    return {"name": "vs", "namespace": "default", "http": http, "tls": tls, "tcp": [],
            "hosts": draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=2, unique=True)),
            "gateways": draw(st.lists(st.sampled_from(GATEWAYS), max_size=2, unique=True)),
            "exportTo": draw(st.lists(st.sampled_from([".", "istio-system"]), max_size=1))}


@st.composite
def foreign_object(draw):
    """A team's VirtualService: routes of its own (never named like ours),
    maybe a catch-all last, and no labels of ours."""
    gateways = draw(st.lists(st.sampled_from(GATEWAYS), max_size=2, unique=True))
    http = []
    for index in range(draw(st.integers(0, 3))):
        match = {"uri": {"prefix": "/team{0}".format(index)}}
        if gateways and draw(st.booleans()):
            match["gateways"] = [gateways[0]]
        http.append({"name": "team-{0}".format(index), "match": [match], "retries": {"attempts": index + 1},
                     "route": _destination("httpbin.org", 80)})
    if draw(st.booleans()):
        http.append({"route": _destination("httpbin.org", 80), "timeout": "3s"})
    tls = [{"match": [{"port": 443, "sniHosts": ["team.org"]}], "route": _destination("team.org", 443)}] if draw(st.booleans()) else []
    spec = {"hosts": draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=2, unique=True)), "http": http, "tls": tls,
            "gateways": gateways, "exportTo": draw(st.lists(st.sampled_from(["*", "."]), max_size=1))}
    spec = dict((key, value) for key, value in spec.items() if value)
    metadata = {"name": "vs", "namespace": "default", "resourceVersion": "7", "labels": {"team": "payments"},
                "annotations": {"team/owner": "payments"}}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": metadata, "spec": spec}


def _apply(obj, desired, owner, state="present"):
    result = merge(obj, desired, owner, state)
    return result.obj if result.action != "none" else obj


def _routes(obj):
    spec = (obj or {}).get("spec") or {}
    return sorted(json.dumps([kind, route], sort_keys=True) for kind in ("http", "tls", "tcp") for route in spec.get(kind) or [])


def _foreign_routes(obj, foreign):
    ids = dict((json.dumps(route, sort_keys=True), True) for kind in ("http", "tls") for route in foreign["spec"].get(kind) or [])
    return [(kind, route) for kind in ("http", "tls") for route in (obj["spec"].get(kind) or [])
            if json.dumps(route, sort_keys=True) in ids]


def _semantic(obj):
    """The object as Istio reads it: no gateways means the mesh gateway."""
    obj = copy.deepcopy(obj)
    obj["spec"].setdefault("gateways", ["mesh"])
    return obj


@settings(max_examples=150, deadline=None)
@given(live=st.one_of(st.none(), foreign_object()), desired=wanted(), owner=st.sampled_from(OWNERS))
def test_merging_twice_equals_merging_once(live, desired, owner):
    once = _apply(live, desired, owner)
    again = merge(once, desired, owner)
    assert again.action == "none"
    assert again.obj == once


@settings(max_examples=150, deadline=None)
@given(foreign=foreign_object(),
       steps=st.lists(st.tuples(st.sampled_from(OWNERS), wanted(), st.sampled_from(["present", "present", "absent"])), max_size=6))
def test_foreign_routes_survive_any_sequence_unchanged_and_in_order(foreign, steps):
    expected = _foreign_routes(foreign, foreign)
    obj = foreign
    for owner, desired, state in steps:
        try:
            obj = _apply(obj, desired, owner, state)
        except MergeError:
            continue  # a refused merge writes nothing
        assert obj is not None, "a foreign object is never deleted"
        assert _foreign_routes(obj, foreign) == expected
        assert obj["metadata"]["labels"] == foreign["metadata"]["labels"]


@settings(max_examples=150, deadline=None)
@given(live=st.one_of(st.none(), foreign_object()), first=wanted(), second=wanted())
def test_two_owners_in_either_order_give_the_same_routes(live, first, second):
    outcomes = []
    for (owner_a, want_a), (owner_b, want_b) in (((OWNERS[0], first), (OWNERS[1], second)), ((OWNERS[1], second), (OWNERS[0], first))):
        try:
            outcomes.append(_routes(_apply(_apply(live, want_a, owner_a), want_b, owner_b)))
        except MergeError as exc:
            outcomes.append(("refused", "belongs to owner" in str(exc) or "co-owned" in str(exc)))
    assert outcomes[0] == outcomes[1]


@settings(max_examples=150, deadline=None)
@given(foreign=foreign_object(), first=wanted(), second=wanted(), release_in_order=st.booleans())
def test_present_then_absent_returns_the_foreign_object(foreign, first, second, release_in_order):
    obj = _apply(foreign, first, OWNERS[0])
    try:
        obj = _apply(obj, second, OWNERS[1])
    except MergeError:
        pass
    for owner in (OWNERS[:2] if release_in_order else OWNERS[1::-1]):
        obj = _apply(obj, first, owner, "absent")
    assert _semantic(obj)["spec"] == _semantic(foreign)["spec"]
    assert obj["metadata"] == foreign["metadata"]


@settings(max_examples=100, deadline=None)
@given(first=wanted(), second=wanted())
def test_our_object_is_deleted_when_its_last_owner_leaves(first, second):
    obj = _apply(None, first, OWNERS[0])
    try:
        obj = _apply(obj, second, OWNERS[1])
    except MergeError:
        pass
    obj = _apply(obj, first, OWNERS[0], "absent")
    result = merge(obj, second, OWNERS[1], "absent")
    assert result.action == "delete" or (result.action == "none" and obj is None)
