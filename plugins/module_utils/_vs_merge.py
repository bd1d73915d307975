# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Merge one owner's routes into a shared VirtualService.

Istio does not merge several VirtualServices for one host on the mesh gateway
(istio/istio#22997), so every route for an external host lives in one object
that other writers share. ``merge`` computes, from the live object and what
one owner wants, the object to write: exactly that owner's routes added,
replaced or removed, everything else kept as it is and where it is.

Who owns which route is recorded in an annotation (see vs_records).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import matches
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import (
    ROUTES_ANNOTATION,
    is_managed,
    is_owned_by,
    owner_labels,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_records import (
    empty_record,
    parse_record,
    read_records,
    serialise_record,
    with_record,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import (
    LIST_FIELDS,
    ROUTE_KINDS,
    MergeError,
    describe_identity,
    is_catch_all,
    prepare,
    route_fingerprint,
    route_identity,
)

KIND = "VirtualService"
OWN = object()  # stands for the merging owner among other owners' names
DEFAULT_API_VERSION = "networking.istio.io/v1"


class MergeResult(object):
    """What to do with one VirtualService. ``obj`` is the body to write
    (None for a delete or when there is nothing); routes_* are readable identities."""

    def __init__(self, obj, action, routes_added=(), routes_updated=(), routes_removed=()):
        self.obj = obj
        self.action = action  # create | update | delete | none
        self.routes_added = list(routes_added)
        self.routes_updated = list(routes_updated)
        self.routes_removed = list(routes_removed)

    @property
    def changed(self):
        return self.action != "none"


def desired_from_options(options, namespace=None):
    """The merge input from module options (single or one batch item)."""
    return {
        "name": options.get("name"),
        "namespace": options.get("namespace") or namespace,
        "hosts": options.get("hosts"),
        "gateways": options.get("gateways"),
        "exportTo": options.get("export_to"),
        "http": options.get("http"),
        "tls": options.get("tls"),
        "tcp": options.get("tcp"),
    }


def _unique(values):
    result = []
    for value in values:
        if value not in result:
            result.append(value)
    return result


def _route_owners(others, kind):
    owners = {}
    for owner, record in sorted(others.items()):
        for key in record[kind]:
            owners.setdefault((kind, key), []).append(owner)
    return owners


def _insert_position(routes, later_keys, kind):
    """Before the first of our later routes already in place, and never
    after a catch-all route, which would shadow the new route."""
    positions = [len(routes)]
    for index, route in enumerate(routes):
        if is_catch_all(route) or route_identity(kind, route) in later_keys:
            positions.append(index)
            break
    return min(positions)


def _merge_routes(kind, live_routes, wanted, mine, co_owners, new_mine, report, where):
    """The route list of one kind; fills ``new_mine`` and ``report``."""
    routes = list(live_routes)
    index_of = {}
    for index, route in enumerate(routes):
        index_of.setdefault(route_identity(kind, route), index)
    wanted_ids = [route_identity(kind, route) for route in wanted]
    new_routes = []
    for route, identity in zip(wanted, wanted_ids):
        index = index_of.get(identity)
        label = describe_identity(identity)
        new_mine.add(identity[1])
        if index is None:
            new_routes.append((route, identity))
            report["added"].append(label)
            continue
        same = route_fingerprint(kind, routes[index]) == route_fingerprint(kind, route)
        holders = co_owners.get(identity)
        if identity[1] not in mine:
            if not holders:
                raise MergeError(
                    "{0}: route {1} already exists and is not ours (not recorded for any owner in annotation {2}); "
                    "refusing to take over another writer's route: rename ours or remove theirs".format(where, label, ROUTES_ANNOTATION))
            if not same:
                raise MergeError("{0}: route {1} belongs to owner(s) {2} with different content; refusing to overwrite it".format(
                    where, label, ", ".join(holders)))
            report["added"].append(label)  # now co-owned: it stays until its last owner lets go
        elif not same:
            if holders:
                raise MergeError("{0}: route {1} is co-owned by {2}, who declare different content; "
                                 "change it for all its owners or give ours another identity".format(where, label, ", ".join(holders)))
            routes[index] = route
            report["updated"].append(label)
    drop = set()
    for key in sorted(mine - set(identity[1] for identity in wanted_ids)):
        identity = (kind, key)
        report["removed"].append(describe_identity(identity))
        if identity not in co_owners and identity in index_of:
            drop.add(index_of[identity])
    routes = [route for index, route in enumerate(routes) if index not in drop]
    for route, identity in new_routes:
        later = set(wanted_ids[wanted_ids.index(identity) + 1:])
        routes.insert(_insert_position(routes, later, kind), route)
    return routes


def _merge_values(live_values, wanted, mine, claimed_by_others, keep):
    """Union ``wanted`` into ``live_values``; release what we brought in and
    no longer want, unless another owner claims it or ``keep`` holds it."""
    values = list(live_values)
    claims = set()
    for value in _unique(wanted):
        if value not in values:
            values.append(value)
            claims.add(value)
        elif value in mine or value in claimed_by_others:
            claims.add(value)  # an entry that was there before any owner stays unclaimed
    released = mine - set(wanted) - claimed_by_others - set(keep)
    return [value for value in values if value not in released], claims


def _set(spec, field, values):
    if values:
        spec[field] = values
    else:
        spec.pop(field, None)


def _gateway_users(spec, new_mine, others):
    """{gateway: owners whose remaining routes name it in a match}; None
    stands for a route no owner records. Istio binds a route to a gateway
    only if the top-level list names it, so such gateways must stay."""
    users = {}
    for kind in ROUTE_KINDS:
        for route in spec.get(kind) or []:
            identity = route_identity(kind, route)
            holders = set(name for name, record in others.items() if identity and identity[1] in record[kind])
            if identity and identity[1] in new_mine[kind]:
                holders.add(OWN)
            for entry in route.get("match") or []:
                for gateway in (entry.get("gateways") or []) if isinstance(entry, dict) else []:
                    users.setdefault(gateway, set()).update(holders or [None])
    return users


def _merge_lists(spec, desired, mine, others, new_mine, shared):
    """hosts, gateways, exportTo of the merged spec. Returns the other owners
    that inherit our claim on a gateway their routes still need."""
    remaining_routes = [route for kind in ROUTE_KINDS for route in spec.get(kind) or []]
    users = _gateway_users(spec, new_mine, others)
    heirs = set()
    for field in LIST_FIELDS:
        live_values = list(spec.get(field) or [])
        wanted = desired[field]
        if shared and not live_values and wanted:
            if field == "exportTo":
                wanted = []  # exported everywhere already; narrowing it is not ours to do
            elif field == "gateways":
                live_values = ["mesh"]  # the implicit default others' routes rely on, made explicit
        claimed = set().union(*[record[field] for record in others.values()])
        keep = set(users) if field == "gateways" else set()
        values, claims = _merge_values(live_values, wanted, mine[field], claimed, keep)
        if field == "hosts" and not values and remaining_routes:
            values = live_values  # routes remain: an object without hosts is invalid
        for value in (mine[field] - set(wanted) - claimed) & keep:
            for heir in users[value] - set([None]):
                (claims if heir is OWN else others[heir][field]).add(value)
                heirs.add(heir)
        new_mine[field] = claims
        _set(spec, field, values)
    return heirs - set([OWN])


def _new_object(desired, owner, api_version):
    record = empty_record()
    spec = {}
    for field in LIST_FIELDS:
        spec[field] = _unique(desired[field])
        record[field] = set(spec[field])
    added = []
    for kind in ROUTE_KINDS:
        spec[kind] = desired[kind]
        for route in desired[kind]:
            identity = route_identity(kind, route)
            record[kind].add(identity[1])
            added.append(describe_identity(identity))
    metadata = {"name": desired["name"], "namespace": desired["namespace"], "labels": owner_labels(owner)}
    obj = {
        "apiVersion": api_version,
        "kind": KIND,
        "metadata": with_record(metadata, {}, owner, record),
        "spec": dict((key, value) for key, value in spec.items() if value),
    }
    return MergeResult(obj, "create", routes_added=added)


def _is_shared(spec, new_mine, others):
    """True when the object carries routes that are not ours alone."""
    for kind in ROUTE_KINDS:
        for route in spec.get(kind) or []:
            identity = route_identity(kind, route)
            if identity is None or identity[1] not in new_mine[kind]:
                return True
            if any(identity[1] in record[kind] for record in others.values()):
                return True
    return False


def merge(live, desired, owner, state="present", api_version=DEFAULT_API_VERSION):
    """MergeResult for ``owner`` wanting ``desired`` (state present) or
    nothing (state absent) in the VirtualService ``live`` (None if absent)."""
    desired = prepare(desired, state)
    where = "VirtualService {0}/{1}".format(desired["namespace"], desired["name"])
    if live is None:
        return MergeResult(None, "none") if state == "absent" else _new_object(desired, owner, api_version)
    if live.get("kind", KIND) != KIND:
        raise MergeError("{0}: the live object is a {1}, not a VirtualService".format(where, live.get("kind")))
    records = read_records(live, where)
    mine = parse_record(records.get(owner), where, owner)
    others = dict((name, parse_record(value, where, name)) for name, value in records.items() if name != owner)
    spec = copy.deepcopy(live.get("spec") or {})
    new_mine = empty_record()
    report = {"added": [], "updated": [], "removed": []}
    for kind in ROUTE_KINDS:
        co_owners = _route_owners(others, kind)
        _set(spec, kind, _merge_routes(kind, spec.get(kind) or [], desired[kind], mine[kind], co_owners, new_mine[kind], report, where))
    heirs = _merge_lists(spec, desired, mine, others, new_mine, _is_shared(spec, new_mine, others))

    obj = copy.deepcopy(live)
    obj["spec"] = spec
    if mine != new_mine or heirs:
        records = dict(records, **dict((heir, serialise_record(others[heir])) for heir in heirs))
        obj["metadata"] = with_record(obj["metadata"], records, owner, new_mine)
    result = (report["added"], report["updated"], report["removed"])

    has_routes = any(spec.get(kind) for kind in ROUTE_KINDS)
    ours_to_delete = any(mine.values()) or is_owned_by(live, owner)
    if not has_routes and is_managed(live) and ours_to_delete:
        return MergeResult(None, "delete", *result)
    if mine == new_mine and not heirs and matches(live, obj):
        return MergeResult(copy.deepcopy(live), "none")
    return MergeResult(obj, "update", *result)
