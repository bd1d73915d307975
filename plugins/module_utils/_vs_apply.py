# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Apply VirtualService merges to a cluster, safely under concurrent writers,
through the one write engine (``_write_engine``).

Every write carries the resourceVersion of the object the merge was computed
from. When another writer got there first (409), the object is read again and
the merge recomputed, so nobody's routes are lost; only a run that keeps
losing that race fails. Without a conflict one object costs one read (a GET,
or its share of one LIST in batch mode) and at most one write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import object_diff
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import owner_error
from ansible_collections.meshops.istio_egress.plugins.module_utils._retry import CONFLICT_RETRIES
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_merge import KIND, desired_from_options, merge
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_records import read_records
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import MergeError, prepare
from ansible_collections.meshops.istio_egress.plugins.module_utils._write_engine import UNREAD, converge_one


def _where(desired):
    return "{0} {1}/{2}".format(KIND, desired["namespace"], desired["name"])


def converge(cluster, resource, desired, owner, state="present", retries=CONFLICT_RETRIES, check_mode=False, live=UNREAD):
    """Merge ``desired`` for ``owner`` into the live object and write it
    (``_write_engine``: on a lost race the object is read and merged again).

    Returns (MergeResult, live object the merge was computed from, object
    returned by the write or None). ``live`` saves the GET when the caller
    already read the object. In check mode the write is a server-side dry
    run: nothing changes, but the cluster still validates the would-be object.
    """
    merged = []

    def decide(current):
        merged.append(merge(current, desired, owner, state, resource.group_version))
        return merged[-1].action, merged[-1].obj
    unused, live, written = converge_one(cluster, resource, desired["name"], desired["namespace"], decide, check_mode, live, retries)
    return merged[-1], live, written


def _report(result, desired):
    return {
        "name": desired["name"],
        "namespace": desired["namespace"],
        "operation": result.action,
        "changed": result.changed,
        "routes_added": result.routes_added,
        "routes_updated": result.routes_updated,
        "routes_removed": result.routes_removed,
    }


def _apply_one(cluster, resource, desired, owner, state, retries, check_mode, want_diff):
    result, live, written = converge(cluster, resource, desired, owner, state, retries, check_mode)
    report = _report(result, desired)
    del report["name"], report["namespace"]
    # In check mode show the merge, not the dry run's echo (which has server fields).
    report["result"] = result.obj if check_mode or result.action == "none" else written
    report["api_version"] = resource.group_version
    if want_diff:
        report["diff"] = object_diff(live, result.obj, _where(desired))
    return report


def _validate_batch(items, namespace, state, prune):
    desired, errors, seen = [], [], set()
    if prune and not namespace:
        errors.append("prune: needs namespace, the namespace whose VirtualServices are searched for this owner's routes")
    for index, options in enumerate(items):
        item = desired_from_options(options, namespace)
        key = (item["namespace"], item["name"])
        try:
            prepare(item, state)
        except MergeError as exc:
            errors.append("virtual_services[{0}]: {1}".format(index, exc))
        if key in seen:
            errors.append("virtual_services[{0}]: {1} is listed twice".format(index, _where(item)))
        seen.add(key)
        desired.append(item)
    if errors:
        raise MergeError("; ".join(errors))
    return desired


def _plan(live_by_key, desired, owner, state, prune, namespace, group_version):
    """Merge every item against its listed live object, and pick this owner's
    routes to release from unlisted objects; all refusals at once, before any write."""
    plans, errors = [], []
    wanted_keys = set((item["namespace"], item["name"]) for item in desired)
    stale = []
    if prune:
        for (ns, name), obj in sorted(live_by_key.items()):
            if ns != namespace or (ns, name) in wanted_keys:
                continue
            try:
                if owner in read_records(obj, "{0} {1}/{2}".format(KIND, ns, name)):
                    stale.append({"name": name, "namespace": ns})
            except MergeError as exc:
                errors.append(str(exc))
    for item, item_state in [(item, state) for item in desired] + [(item, "absent") for item in stale]:
        live = live_by_key.get((item["namespace"], item["name"]))
        try:
            plans.append((item, item_state, live, merge(live, item, owner, item_state, group_version)))
        except MergeError as exc:
            errors.append(str(exc))
    if errors:
        raise MergeError("; ".join(errors))
    return plans


def _read_and_plan(cluster, resource, desired, owner, namespace, state, prune):
    """One LIST per namespace, then every merge planned: all refusals before any write."""
    namespaces = []
    for ns in [item["namespace"] for item in desired] + ([namespace] if prune else []):
        if ns not in namespaces:
            namespaces.append(ns)
    live_by_key = {}
    for ns in namespaces:
        # Unlabelled: the teams' objects we merge into carry no label of ours.
        for obj in cluster.list(resource, ns):
            live_by_key[(ns, obj["metadata"]["name"])] = obj
    return _plan(live_by_key, desired, owner, state, prune, namespace, resource.group_version)


def _apply_plans(cluster, resource, plans, owner, retries, check_mode, want_diff):
    results, diffs = [], []
    counts = {"create": 0, "update": 0, "delete": 0, "none": 0}
    for item, item_state, live, result in plans:
        if result.changed:
            # A conflict re-reads and re-merges this object alone (GET path).
            result, live = converge(cluster, resource, item, owner, item_state, retries, check_mode, live=live)[:2]
        counts[result.action] += 1
        results.append(_report(result, item))
        if want_diff and result.changed:
            diffs.append(object_diff(live, result.obj, _where(item)))
    report = {"changed": any(entry["changed"] for entry in results), "results": results, "counts": counts,
              "api_version": resource.group_version}
    for field in ("routes_added", "routes_updated", "routes_removed"):
        report[field] = ["{0}/{1}: {2}".format(e["namespace"], e["name"], route) for e in results for route in e[field]]
    if want_diff:
        report["diff"] = diffs
    return report


def plan_batch(params, cluster):
    """Validate, read and merge the batch of ``params`` (the module's options):
    MergeError for anything refused, before any write. Returns what
    ``apply_batch`` writes, so a caller can plan this before writing others."""
    desired = _validate_batch(params["virtual_services"], params.get("namespace"), params["state"], params["prune"])
    resource = cluster.resource(params["api_version"], KIND)
    return resource, _read_and_plan(cluster, resource, desired, params["owner"], params.get("namespace"), params["state"],
                                    params["prune"])


def released(batch):
    """One KIND entry per VirtualService a ``plan_batch`` result takes this
    owner's routes out of because they are no longer declared (prune)."""
    return [KIND for _item, state, _live, result in batch[1] if state == "absent" and result.changed]


def apply_batch(cluster, batch, params, check_mode=False, want_diff=False):
    """Write a ``plan_batch`` result; the module's batch result."""
    resource, plans = batch
    return _apply_plans(cluster, resource, plans, params["owner"], params["conflict_retries"], check_mode, want_diff)


def run(params, connect, check_mode=False, want_diff=False):
    """The virtual_service module's result for its ``params``. ``connect()``
    returns the Cluster; it is called only once the input has been validated,
    so bad input fails before any request."""
    owner, state, retries = params["owner"], params["state"], params["conflict_retries"]
    if retries is None or retries < 0:
        raise MergeError("conflict_retries: must be 0 or more")
    if owner_error(owner):
        raise MergeError(owner_error(owner))
    if params.get("virtual_services") is not None:
        _validate_batch(params["virtual_services"], params.get("namespace"), state, params["prune"])
        cluster = connect()
        return apply_batch(cluster, plan_batch(params, cluster), params, check_mode, want_diff)
    if params["prune"]:
        raise MergeError("prune: only with virtual_services (batch mode); a single VirtualService is converged with state")
    desired = desired_from_options(params)
    prepare(desired, state)
    cluster = connect()
    return _apply_one(cluster, cluster.resource(params["api_version"], KIND), desired, owner, state, retries, check_mode,
                      want_diff)
