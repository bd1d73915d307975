# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply an owned object set: read with one LIST per kind and namespace,
write only what the plan says, delete what is ours and no longer wanted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.meshops.istio_egress.plugins.module_utils.compare import strip_server_fields
from ansible_collections.meshops.istio_egress.plugins.module_utils.k8s_glue import ApiError, KindNotServed
from ansible_collections.meshops.istio_egress.plugins.module_utils.object_plan import (
    describe,
    needs_update,
    plan,
    prepare,
    update_body,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils.ownership import is_owned_by, owner_selector
from ansible_collections.meshops.istio_egress.plugins.module_utils.retry import CONFLICT_RETRIES, conflict_backoff


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


def _update_with_retry(cluster, resource, live, body, owner, dry_run):
    """PUT guarded by resourceVersion; on 409 re-read and try again, as long
    as the object is still ours and still differs."""
    desired = body
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            return cluster.replace(resource, update_body(live, desired), dry_run=dry_run)
        except ApiError as exc:
            if exc.status != 409 or attempt == CONFLICT_RETRIES:
                raise
        time.sleep(conflict_backoff(attempt + 1, random.random()))
        meta = live["metadata"]
        live = cluster.get(resource, meta["name"], meta.get("namespace"))
        if live is None:
            return cluster.create(resource, desired, dry_run=dry_run)
        if not is_owned_by(live, owner):
            raise ApiError("{0} is no longer owned by '{1}'; left alone".format(describe(live), owner), 409)
        if not needs_update(live, desired):
            return live
    return None  # not reached: the loop returns or raises


def _create(cluster, resource, body, owner, dry_run):
    """POST; a 409 means the plan is stale: re-read and re-plan this object."""
    meta = body["metadata"]
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            return cluster.create(resource, body, dry_run=dry_run)
        except ApiError as exc:
            if exc.status != 409 or attempt == CONFLICT_RETRIES:
                raise
        time.sleep(conflict_backoff(attempt + 1, random.random()))
        live = cluster.get(resource, meta["name"], meta.get("namespace"))
        if live is None:
            continue  # the conflict left no object behind: create again
        if not is_owned_by(live, owner):
            # Same name, but not in our label-selected LIST: someone else's.
            raise ApiError(
                "{0} already exists and is not managed by this owner set; "
                "refusing to modify it (rename or delete it, or label it as ours)".format(describe(body)),
                409,
                "AlreadyExists",
            )
        # Ours after all (another run of this owner created it meanwhile).
        return _update_with_retry(cluster, resource, live, body, owner, dry_run) if needs_update(live, body) else live
    return None  # not reached: the loop returns or raises


def _delete(cluster, resource, live, owner, dry_run):
    """DELETE guarded by resourceVersion; on 409 re-read: delete again only
    while the object is still ours. True when the object is gone."""
    for attempt in range(CONFLICT_RETRIES + 1):
        meta = live["metadata"]
        try:
            cluster.delete(resource, meta["name"], meta.get("namespace"), meta.get("resourceVersion"), dry_run=dry_run)
            return True
        except ApiError as exc:
            if exc.status != 409 or attempt == CONFLICT_RETRIES:
                raise
        time.sleep(conflict_backoff(attempt + 1, random.random()))
        live = cluster.get(resource, meta["name"], meta.get("namespace"))
        if live is None:
            return True
        if not is_owned_by(live, owner):
            return False  # someone took it over meanwhile: theirs now
    return False  # not reached: the loop returns or raises


def _diff(before, after, what):
    return {
        "before": strip_server_fields(before) if before else {},
        "after": strip_server_fields(after) if after else {},
        "before_header": what,
        "after_header": what,
    }


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


def plan_object_set(cluster, definitions, owner, prune=False, prune_scope=None):
    """Read the owner's objects (one LIST per kind and namespace) and plan the
    writes; every refusal comes here, before any write. Returns what
    ``write_object_set`` writes, so a caller can look at the plan first."""
    desired = prepare(definitions, owner)
    scopes = _scopes(cluster, desired, prune_scope)
    live_owned, resource_of = [], {}
    for (group_version, kind, namespace), resource in scopes.items():
        resource_of[kind] = resource
        live_owned.extend(cluster.list(resource, namespace, owner_selector(owner)))
    steps = plan(desired, live_owned, prune)
    _refuse_foreign(cluster, steps["create"], resource_of)
    return steps, resource_of


def planned_deletes(planned):
    """The kinds of the objects a ``plan_object_set`` result deletes, one entry per object."""
    return [live["kind"] for live in planned[0]["delete"]]


def write_object_set(cluster, planned, owner, check_mode=False, want_diff=False):
    """Write a ``plan_object_set`` result; returns the module result."""
    steps, resource_of = planned
    result = {"created": [], "updated": [], "deleted": [], "unchanged": len(steps["unchanged"])}
    diffs = []
    for body in steps["create"]:
        _create(cluster, resource_of[body["kind"]], body, owner, check_mode)
        result["created"].append(describe(body))
        diffs.append(_diff(None, body, describe(body)))
    for live, body in steps["update"]:
        _update_with_retry(cluster, resource_of[body["kind"]], live, body, owner, check_mode)
        result["updated"].append(describe(body))
        diffs.append(_diff(live, body, describe(body)))
    for live in steps["delete"]:
        if not _delete(cluster, resource_of[live["kind"]], live, owner, check_mode):
            continue
        result["deleted"].append(describe(live))
        diffs.append(_diff(live, None, describe(live)))
    result["changed"] = bool(result["created"] or result["updated"] or result["deleted"])
    result["api_versions"] = dict(sorted((kind, res.group_version) for kind, res in resource_of.items()))
    if want_diff:
        result["diff"] = diffs
    return result


def apply_object_set(cluster, definitions, owner, prune=False, prune_scope=None, check_mode=False, want_diff=False):
    """Converge the owner's objects to ``definitions``; returns the module result."""
    return write_object_set(cluster, plan_object_set(cluster, definitions, owner, prune, prune_scope), owner, check_mode,
                            want_diff)
