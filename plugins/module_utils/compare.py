# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether a live object already matches what we want.

The API server adds fields of its own (uid, resourceVersion, status, ...) and
may hand numbers back as strings where the schema allows either; neither is a
difference worth a write. Everything here is pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
# kubectl's bookkeeping annotation; never ours to compare.
_IGNORED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def plain_copy(value):
    """A copy in plain dicts and lists. Unlike copy.deepcopy, it does not copy
    what an Ansible 2.19 lazy container carries along (its template context,
    the host's whole variables: ~1 s per call with a 1,000-host list)."""
    if isinstance(value, dict):
        return dict((key, plain_copy(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain_copy(item) for item in value]
    return value


def canonical(value):
    """Canonical form for comparison: digit strings become ints, empty
    containers and None vanish (the server drops them), recursively."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            item = canonical(item)
            if item is None or item == {} or item == []:
                continue
            result[key] = item
        return result
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, str) and value.isdigit() and len(value) < 10:
        return int(value)
    return value


def strip_server_fields(obj):
    """Copy of ``obj`` without status and the metadata the server fills in."""
    result = {key: value for key, value in obj.items() if key != "status"}
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key not in SERVER_METADATA}
    annotations = {key: value for key, value in (metadata.get("annotations") or {}).items() if key not in _IGNORED_ANNOTATIONS}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    result["metadata"] = metadata
    return result


def _contains(live, wanted):
    """True when every key/value of ``wanted`` is present and equal in ``live``."""
    return all(key in live and live[key] == value for key, value in wanted.items())


def matches(live, desired):
    """True when ``live`` needs no write to become ``desired``.

    The spec (and any other top-level body field such as ``data``) must be
    equal; labels and annotations we set must be present with our values, but
    extra ones that others added are left alone and are no difference.
    """
    live = canonical(strip_server_fields(live))
    desired = canonical(strip_server_fields(desired))
    for key in set(live) | set(desired):
        if key in ("metadata", "apiVersion", "kind"):
            continue
        if live.get(key) != desired.get(key):
            return False
    live_meta = live.get("metadata") or {}
    desired_meta = desired.get("metadata") or {}
    for field in ("labels", "annotations"):
        if not _contains(live_meta.get(field) or {}, desired_meta.get(field) or {}):
            return False
    return True


def contains(live, wanted):
    """True when every field of ``wanted`` is set to the same value in ``live``.

    Used for objects the server fills in (a Service gains clusterIP, a
    Deployment a dozen defaults): what we set must be there, what the server
    added is no drift. Lists must match item for item.
    """
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(key in live and contains(live[key], value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(live) == len(wanted) and all(contains(a, b) for a, b in zip(live, wanted))
    return live == wanted
