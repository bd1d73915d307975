import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import canonical, contains, matches, plain_copy

LIVE_META = {"name": "x", "namespace": "ns", "uid": "u-1", "resourceVersion": "42", "generation": 3,
             "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "kubectl"}]}


@pytest.mark.parametrize(
    "live, desired, expected",
    [
        # server-filled metadata and status are no difference
        ({"kind": "K", "metadata": LIVE_META, "spec": {"a": 1}, "status": {"x": 1}},
         {"kind": "K", "metadata": {"name": "x", "namespace": "ns"}, "spec": {"a": 1}}, True),
        # a port given back as a string is the same port
        ({"metadata": {"name": "x"}, "spec": {"port": {"number": "80"}}}, {"metadata": {"name": "x"}, "spec": {"port": {"number": 80}}}, True),
        # key order is irrelevant
        ({"metadata": {"name": "x"}, "spec": {"a": 1, "b": 2}}, {"metadata": {"name": "x"}, "spec": {"b": 2, "a": 1}}, True),
        # list order is relevant (routes are evaluated in order)
        ({"metadata": {"name": "x"}, "spec": {"l": [1, 2]}}, {"metadata": {"name": "x"}, "spec": {"l": [2, 1]}}, False),
        # a spec value differs
        ({"metadata": {"name": "x"}, "spec": {"a": 1}}, {"metadata": {"name": "x"}, "spec": {"a": 2}}, False),
        # a field we no longer want is still live
        ({"metadata": {"name": "x"}, "spec": {"a": 1, "b": 2}}, {"metadata": {"name": "x"}, "spec": {"a": 1}}, False),
        # labels others added are fine; ours must be there
        ({"metadata": {"name": "x", "labels": {"team": "a", "ours": "1"}}, "spec": {}}, {"metadata": {"name": "x", "labels": {"ours": "1"}}, "spec": {}}, True),
        ({"metadata": {"name": "x", "labels": {"team": "a"}}, "spec": {}}, {"metadata": {"name": "x", "labels": {"ours": "1"}}, "spec": {}}, False),
        # an annotation of ours with another value
        ({"metadata": {"name": "x", "annotations": {"a": "1"}}}, {"metadata": {"name": "x", "annotations": {"a": "2"}}}, False),
        # empty lists/dicts are dropped by the server: no difference
        ({"metadata": {"name": "x"}, "spec": {"a": 1}}, {"metadata": {"name": "x"}, "spec": {"a": 1, "exportTo": []}}, True),
    ],
)
def test_matches(live, desired, expected):
    assert matches(live, desired) is expected


@pytest.mark.parametrize(
    "live, wanted, expected",
    [
        ({"spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80, "protocol": "TCP"}]}}, {"spec": {"ports": [{"port": 80}]}}, True),
        ({"spec": {"ports": [{"port": 80}, {"port": 443}]}}, {"spec": {"ports": [{"port": 80}]}}, False),
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 3}}, False),
        ({"spec": {}}, {"spec": {"replicas": 3}}, False),
        ({"spec": {"a": {"b": {"c": 1, "d": 2}}}}, {"spec": {"a": {"b": {"c": 1}}}}, True),
    ],
)
def test_contains(live, wanted, expected):
    assert contains(live, wanted) is expected


def test_canonical_keeps_long_digit_strings():
    # a 10+ digit string (e.g. a resourceVersion-like id) stays a string
    assert canonical({"id": "12345678901", "port": "443"}) == {"id": "12345678901", "port": 443}


def test_plain_copy_is_a_deep_copy_in_plain_types():
    source = {"rules": [{"from": [{"source": {"namespaces": ["a"]}}]}], "ports": (80, 443), "n": 1}
    copied = plain_copy(source)
    assert copied == {"rules": [{"from": [{"source": {"namespaces": ["a"]}}]}], "ports": [80, 443], "n": 1}
    copied["rules"][0]["from"][0]["source"]["namespaces"].append("b")
    assert source["rules"][0]["from"][0]["source"]["namespaces"] == ["a"]
    shared = {"x": 1}
    twice = plain_copy([shared, shared])
    # Fresh objects, not one shared twice (a YAML dump would write an anchor for that).
    assert twice[0] is not twice[1] and twice[0] == twice[1]
