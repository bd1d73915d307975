import copy

import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import (
    CONFIG_HASH_ANNOTATION,
    PlanError,
    plan,
    prepare,
    update_body,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import MANAGED_BY_LABEL, OWNER_LABEL


def se(name, hosts=("a.example.com",), **extra):
    spec = {"hosts": list(hosts), "ports": [{"number": 80, "name": "http-80", "protocol": "HTTP"}], "resolution": "DNS"}
    spec.update(extra)
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": name, "namespace": "istio-system"}, "spec": spec}


def as_live(body, rv="7"):
    """What the server hands back for an object we wrote: server fields added."""
    live = copy.deepcopy(body)
    live["metadata"].update({"uid": "uid-" + body["metadata"]["name"], "resourceVersion": rv, "generation": 1})
    live["apiVersion"] = "networking.istio.io/v1beta1"  # answered in another served version
    return live


def names(objs):
    return sorted(o["metadata"]["name"] for o in objs)


def test_prepare_adds_owner_labels_and_hash():
    [body] = prepare([se("a")], "eu1")
    labels = body["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == "meshops.istio_egress" and labels[OWNER_LABEL] == "eu1"
    assert len(body["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]) == 16


def test_hash_is_stable_and_tracks_content():
    first = prepare([se("a")], "eu1")[0]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    again = prepare([se("a")], "eu1")[0]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    changed = prepare([se("a", hosts=("b.example.com",))], "eu1")[0]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    other_owner = prepare([se("a")], "us1")[0]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    assert first == again
    assert len({first, changed, other_owner}) == 3


@pytest.mark.parametrize(
    "definitions, message",
    [
        ([{"kind": "ServiceEntry", "metadata": {"name": "a"}}], "definitions[0]: missing apiVersion"),
        ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}], "definitions[0]: missing metadata.name"),
        (["not-a-dict"], "definitions[0]: must be a dict"),
        ([se("a"), se("a")], "definitions[1]: ServiceEntry/istio-system/a is also definitions[0]"),
    ],
)
def test_prepare_rejects_bad_definitions(definitions, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        prepare(definitions, "eu1")


@pytest.mark.parametrize("owner", ["team a", "", "-eu1", "x" * 64, None])
def test_prepare_rejects_an_owner_that_is_no_label_value(owner):
    with pytest.raises(PlanError, match="owner: .* is not a valid ownership set name"):
        prepare([se("a")], owner)


def test_first_run_creates_everything():
    steps = plan(prepare([se("a"), se("b")], "eu1"), [], prune=True)
    assert names(steps["create"]) == ["a", "b"]
    assert steps["update"] == [] and steps["delete"] == []


def test_rerun_is_a_no_op():
    desired = prepare([se("a"), se("b")], "eu1")
    steps = plan(desired, [as_live(b) for b in desired], prune=True)
    assert steps["create"] == [] and steps["update"] == [] and steps["delete"] == []
    assert len(steps["unchanged"]) == 2


def test_changed_spec_is_an_update_carrying_resource_version_and_foreign_labels():
    live = as_live(prepare([se("a")], "eu1")[0], rv="99")
    live["metadata"]["labels"]["team"] = "payments"
    desired = prepare([se("a", hosts=("new.example.com",))], "eu1")
    steps = plan(desired, [live], prune=True)
    [(old, body)] = steps["update"]
    assert body["spec"]["hosts"] == ["new.example.com"]
    assert body["metadata"]["resourceVersion"] == "99"
    assert body["metadata"]["labels"]["team"] == "payments"


def test_drift_in_a_field_we_set_is_an_update_even_with_the_same_hash():
    desired = prepare([se("a")], "eu1")
    live = as_live(desired[0])
    live["spec"]["resolution"] = "STATIC"  # someone edited it by hand
    assert len(plan(desired, [live], prune=False)["update"]) == 1


def test_server_defaults_are_not_drift():
    desired = prepare([se("a")], "eu1")
    live = as_live(desired[0])
    live["spec"]["location"] = "MESH_EXTERNAL"  # a field the server (or a webhook) filled in
    assert plan(desired, [live], prune=False)["update"] == []


def test_removed_field_is_noticed_through_the_hash():
    old = prepare([se("a", endpoints=[{"address": "1.2.3.4"}])], "eu1")
    live = as_live(old[0])
    desired = prepare([se("a")], "eu1")
    assert len(plan(desired, [live], prune=False)["update"]) == 1


def test_prune_deletes_only_undeclared_owned_objects():
    desired = prepare([se("a")], "eu1")
    live = [as_live(b) for b in prepare([se("a"), se("gone")], "eu1")]
    assert names(plan(desired, live, prune=True)["delete"]) == ["gone"]
    assert plan(desired, live, prune=False)["delete"] == []


def test_update_body_keeps_desired_labels_over_live():
    live = {"metadata": {"name": "a", "resourceVersion": "5", "labels": {OWNER_LABEL: "old"}, "annotations": {"x": "1"}}}
    desired = prepare([se("a")], "eu1")[0]
    body = update_body(live, desired)
    assert body["metadata"]["labels"][OWNER_LABEL] == "eu1"
    assert body["metadata"]["annotations"]["x"] == "1"
