# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Decide whether a live object already matches what we want.

The API server adds fields of its own (uid, resourceVersion, status, ...) and
may hand numbers back as strings where the schema allows either; neither is a
difference worth a write. Everything here is pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

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


_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_QUANTITY_SCALE = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
                   "n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1,
                   "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}


def quantity_value(value):
    """The exact value of a Kubernetes resource quantity ("2000m", "1Gi", "1e3", 2), or
    None when ``value`` is no quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        return None
    try:
        number = Fraction(Decimal(match.group(1)))
    except InvalidOperation:
        return None
    suffix = match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number * _QUANTITY_SCALE[suffix]


def resource_quantities(value):
    """Copy of ``value`` with the quantities of every ``resources: {limits, requests}``
    (containers, claims) as exact values: the API server stores them in canonical form
    ("2000m" comes back as "2", "1024Mi" as "1Gi"), which is the same amount."""
    if isinstance(value, list):
        return [resource_quantities(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "resources" and isinstance(item, dict):
            item = dict((field, _amounts(amounts) if field in ("limits", "requests") else resource_quantities(amounts))
                        for field, amounts in item.items())
        else:
            item = resource_quantities(item)
        result[key] = item
    return result


def _amounts(amounts):
    if not isinstance(amounts, dict):
        return amounts
    return dict((name, quantity_value(amount) if quantity_value(amount) is not None else amount)
                for name, amount in amounts.items())


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


def object_diff(before, after, header):
    """One ``--diff`` entry for an object written (``before`` None: created; ``after`` None: deleted),
    without the fields the server fills in: the one diff of every write engine."""
    return {
        "before": strip_server_fields(before) if before else {},
        "after": strip_server_fields(after) if after else {},
        "before_header": header,
        "after_header": header,
    }
