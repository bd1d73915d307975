# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Apply an owned object set: read with one LIST per kind and namespace,
write only what the plan says, delete what is ours and no longer wanted.

With an ApplySet parent (``_applyset``), the kinds and namespaces to LIST for
the prune are those the parent recorded, plus those of the objects declared
now; the parent is widened before the members are written and narrowed after
the prune, as KEP-3659 prescribes, so an interrupted run never loses track of
a member. A set without a parent yet (a new one, or one made before
ApplySets) is searched in ``prune_scope``: its LISTs across all namespaces
run only when the set has members made before ApplySets, to adopt them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils import _applyset
from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import object_diff
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, KindNotServed
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import (
    describe,
    needs_update,
    plan,
    prepare,
    update_body,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import is_owned_by, owner_selector
from ansible_collections.meshops.istio_egress.plugins.module_utils._write_engine import CREATE, DELETE, NONE, UPDATE, converge_one


def _resource(cluster, api_version, kind, where):
    try:
        return cluster.resource(api_version, kind)
    except KindNotServed as exc:
        raise KindNotServed("{0}: kind: {1}".format(where, exc), exc.status, exc.reason)


def _scopes(cluster, desired, prune_scope):
    """(resource, namespace) pairs to LIST, in first-seen order, with the
    desired bodies rewritten to the API version the cluster serves."""
    scopes = {}
    for index, body in enumerate(desired):  # in the order of the definitions
        where = "definitions[{0}] ({1})".format(index, describe(body))
        resource = _resource(cluster, body["apiVersion"], body["kind"], where)
        body["apiVersion"] = resource.group_version
        namespace = body["metadata"].get("namespace") if resource.namespaced else None
        if resource.namespaced and not namespace:
            raise ApiError("{0}: metadata.namespace: required for a namespaced kind".format(where))
        scopes.setdefault((resource.group_version, resource.kind, namespace), resource)
    for index, item in enumerate(prune_scope or []):
        resource = _resource(cluster, item["api_version"], item["kind"], "prune_scope[{0}]".format(index))
        namespace = item.get("namespace") if resource.namespaced else None
        scopes.setdefault((resource.group_version, resource.kind, namespace), resource)
    return scopes


def _owned(body, owner):
    """``decide`` (``_write_engine``) for a declared object of ``owner``: create it, update it while
    it differs, and refuse an object of that name that is not ours."""
    def decide(live):
        if live is None:
            return CREATE, body
        if not is_owned_by(live, owner):
            raise ApiError(
                "{0} already exists and is not managed by this owner set; "
                "refusing to modify it (rename or delete it, or label it as ours)".format(describe(body)), 409, "AlreadyExists")
        return (UPDATE, update_body(live, body)) if needs_update(live, body) else (NONE, None)
    return decide


def _pruned(owner):
    """``decide`` for an object of ``owner`` no longer declared: delete it while it is still ours."""
    def decide(live):
        return (DELETE, None) if live is not None and is_owned_by(live, owner) else (NONE, None)
    return decide


def _converge(cluster, resource, obj, decide, dry_run, live):
    """``converge_one`` for the object named like ``obj``, starting from ``live`` as listed (None: absent)."""
    meta = obj["metadata"]
    return converge_one(cluster, resource, meta["name"], meta.get("namespace"), decide, dry_run, live)


def _refuse_foreign(cluster, creates, resource_of):
    """Every object to create whose name an object outside this owner set
    already has, refused at once before any write: one unlabelled LIST per
    kind and namespace to create in (none on a rerun with nothing to create)."""
    names = {}
    for body in creates:
        names.setdefault((body["kind"], body["metadata"].get("namespace")), set()).add(body["metadata"]["name"])
    taken = []
    for (kind, namespace), wanted in names.items():
        live = cluster.list(resource_of[kind], namespace)
        taken.extend(describe(obj) for obj in live if obj["metadata"]["name"] in wanted)
    if taken:
        one = len(taken) == 1
        raise ApiError("{0} already exist{1} and {2} not managed by this owner set; refusing to modify {3} (rename or delete "
                       "{3}, or label {3} as ours); nothing was changed".format(
                           ", ".join(sorted(taken)), "s" if one else "", "is" if one else "are", "it" if one else "them"),
                       409, "AlreadyExists")


class ObjectSetPlan(object):
    """What ``plan_object_set`` read and decided; ``write_object_set`` writes it."""

    def __init__(self, steps, resource_of, applyset=None, parent_live=None, scopes_during=None, scopes_after=None, warnings=None):
        self.steps = steps
        self.resource_of = resource_of
        self.applyset = applyset
        self.parent_live = parent_live
        self.scopes_during = scopes_during or []
        self.scopes_after = scopes_after or []
        self.warnings = warnings or []


def _list_scopes(cluster, scopes, owner):
    live_owned, resource_of = [], {}
    for (group_version, kind, namespace), resource in scopes.items():
        resource_of[kind] = resource
        live_owned.extend(cluster.list(resource, namespace, owner_selector(owner)))
    return live_owned, resource_of


def _recorded(cluster, scopes, recorded):
    """Add the parent's recorded scopes; a kind no longer served holds no member any more."""
    for api_version, kind, namespace in recorded:
        try:
            resource = cluster.resource(api_version, kind)
        except KindNotServed:
            continue
        scopes.setdefault((resource.group_version, resource.kind, namespace if resource.namespaced else None), resource)


def _adopt_everywhere(cluster, prune_scope, owner, live_owned, resource_of, warnings):
    """The legacy LISTs across all namespaces, for a set whose members predate ApplySets."""
    if not any(_applyset.PART_OF_LABEL not in (obj["metadata"].get("labels") or {}) for obj in live_owned):
        return []
    found = []
    for index, item in enumerate(prune_scope or []):
        if item.get("namespace"):
            continue
        resource = _resource(cluster, item["api_version"], item["kind"], "prune_scope[{0}]".format(index))
        try:
            found.extend(cluster.list(resource, None, owner_selector(owner)))
        except ApiError as exc:
            if exc.status != 403:
                raise
            warnings.append("Adopting the objects of owner '{0}' made before ApplySets: cannot list {1} in all namespaces "
                            "(403); any of them outside the namespaces declared now stay (delete them by hand).".format(owner, item["kind"]))
            continue
        resource_of[resource.kind] = resource
    known = set(describe(obj) for obj in live_owned)
    return [obj for obj in found if describe(obj) not in known]


def _scope_of(obj, resource_of):
    resource = resource_of[obj["kind"]]
    return (resource.group_version, resource.kind, obj["metadata"].get("namespace") if resource.namespaced else None)


def _read_parent(cluster, applyset, scopes, prune_scope):
    """The live parent and the scopes it records (None: no parent yet); ``scopes`` gains the
    recorded ones, or, without a parent, the namespaced entries of the legacy ``prune_scope``."""
    parent_live = cluster.get(cluster.resource(_applyset.PARENT_API_VERSION, _applyset.PARENT_KIND), applyset["name"],
                              applyset["namespace"])
    recorded = _applyset.recorded_scopes(parent_live)
    if recorded is None:
        scopes.update(_scopes(cluster, [], [item for item in prune_scope or [] if item.get("namespace")]))
    else:
        _recorded(cluster, scopes, recorded)
    return parent_live, recorded


def plan_object_set(cluster, definitions, owner, prune=False, prune_scope=None, applyset=None):
    """Read the owner's objects (one LIST per kind and namespace) and plan the
    writes; every refusal comes here, before any write. Returns what
    ``write_object_set`` writes, so a caller can look at the plan first.
    ``applyset``: ``{name, namespace}`` of the set's parent ConfigMap."""
    part_of = {_applyset.PART_OF_LABEL: _applyset.applyset_id(applyset["name"], applyset["namespace"])} if applyset else None
    desired = prepare(definitions, owner, part_of)
    scopes = _scopes(cluster, desired, None if applyset else prune_scope)
    declared = list(scopes)
    parent_live, recorded = _read_parent(cluster, applyset, scopes, prune_scope) if applyset else (None, [])
    live_owned, resource_of = _list_scopes(cluster, scopes, owner)
    warnings = []
    if recorded is None:
        live_owned += _adopt_everywhere(cluster, prune_scope, owner, live_owned, resource_of, warnings)
    steps = plan(desired, live_owned, prune)
    _refuse_foreign(cluster, steps["create"], resource_of)
    if not applyset:
        return ObjectSetPlan(steps, resource_of)
    during = set(declared) | set(recorded or []) | set(_scope_of(obj, resource_of) for obj in live_owned)
    after = set(declared) if prune else during
    return ObjectSetPlan(steps, resource_of, applyset, parent_live, sorted(during, key=str), sorted(after, key=str), warnings)


def planned_deletes(planned):
    """The kinds of the objects a ``plan_object_set`` result deletes, one entry per object."""
    return [live["kind"] for live in planned.steps["delete"]]


def _write_parent(cluster, planned, owner, scopes, check_mode, diffs):
    """Create or widen/narrow the ApplySet parent; True when it was written."""
    wanted = _applyset.parent(planned.applyset["name"], planned.applyset["namespace"], owner, scopes)
    if not _applyset.parent_differs(planned.parent_live, wanted):
        return False
    diffs.append(object_diff(planned.parent_live, wanted, describe(wanted)))
    resource = cluster.resource(_applyset.PARENT_API_VERSION, _applyset.PARENT_KIND)

    def decide(live):
        if live is None:
            return CREATE, wanted
        return (UPDATE, update_body(live, wanted)) if _applyset.parent_differs(live, wanted) else (NONE, None)
    written = _converge(cluster, resource, wanted, decide, check_mode, planned.parent_live)[2]
    # Check mode wrote nothing: the next write compares with what is really there.
    if not check_mode:
        planned.parent_live = written
    return True


def write_object_set(cluster, planned, owner, check_mode=False, want_diff=False):
    """Write a ``plan_object_set`` result; returns the module result."""
    steps, resource_of = planned.steps, planned.resource_of
    result = {"created": [], "updated": [], "deleted": [], "unchanged": len(steps["unchanged"])}
    diffs = []
    parent_written = False
    if planned.applyset and not check_mode:
        parent_written = _write_parent(cluster, planned, owner, planned.scopes_during, check_mode, diffs)
    for body in steps["create"]:
        # Absent from the owner's LIST: no GET before the create.
        _converge(cluster, resource_of[body["kind"]], body, _owned(body, owner), check_mode, None)
        result["created"].append(describe(body))
        diffs.append(object_diff(None, body, describe(body)))
    for live, body in steps["update"]:
        _converge(cluster, resource_of[body["kind"]], body, _owned(body, owner), check_mode, live)
        result["updated"].append(describe(body))
        diffs.append(object_diff(live, body, describe(body)))
    for live in steps["delete"]:
        action, last, unused = _converge(cluster, resource_of[live["kind"]], live, _pruned(owner), check_mode, live)
        if action != DELETE and last is not None:
            continue  # someone took it over meanwhile: theirs now
        result["deleted"].append(describe(live))
        diffs.append(object_diff(live, None, describe(live)))
    if planned.applyset:
        parent_written = _write_parent(cluster, planned, owner, planned.scopes_after, check_mode, diffs) or parent_written
    result["changed"] = bool(result["created"] or result["updated"] or result["deleted"] or parent_written)
    result["api_versions"] = dict(sorted((kind, res.group_version) for kind, res in resource_of.items()))
    if planned.applyset:
        result["applyset"] = {"parent": "ConfigMap {0}/{1}".format(planned.applyset["namespace"], planned.applyset["name"]),
                              "id": _applyset.applyset_id(planned.applyset["name"], planned.applyset["namespace"])}
    if want_diff:
        result["diff"] = diffs
    return result


def apply_object_set(cluster, definitions, owner, prune=False, prune_scope=None, check_mode=False, want_diff=False, applyset=None):
    """Converge the owner's objects to ``definitions``; returns the module result (with the plan's warnings)."""
    planned = plan_object_set(cluster, definitions, owner, prune, prune_scope, applyset)
    result = write_object_set(cluster, planned, owner, check_mode, want_diff)
    result["warnings"] = planned.warnings
    return result


def module_result(params, connect, check_mode=False, want_diff=False):
    """The object_set module's result."""
    applyset = params.get("applyset")
    if applyset:
        applyset = {"name": _applyset.parent_name(params["owner"], applyset["name"]), "namespace": applyset["namespace"]}
    return apply_object_set(connect(), params["definitions"], params["owner"], prune=params["prune"],
                            prune_scope=params["prune_scope"], check_mode=check_mode, want_diff=want_diff, applyset=applyset)
