# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The annotation that records who owns what in a shared VirtualService.

``egress.meshops.io/routes`` holds, per owner, the routes it manages and the
hosts/gateways/exportTo entries it brought in, so that a route dropped from
the input is removed from the object and a release never takes away what was
there before us. JSON, lists sorted, empty fields left out:

    {"<owner>": {"http": ["<route name>", ...],
                 "tls": [[<normalised match>, ...], ...], "tcp": [...],
                 "hosts": [...], "gateways": [...], "exportTo": [...]}}

In memory a record is {field: set}, TLS/TCP routes keyed by ``match_key``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import (
    OWNER_LABEL,
    ROUTES_ANNOTATION,
    is_owned_by,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import (
    LIST_FIELDS,
    ROUTE_KINDS,
    MergeError,
    match_key,
)

RECORD_FIELDS = ROUTE_KINDS + LIST_FIELDS


def empty_record():
    return dict((field, set()) for field in RECORD_FIELDS)


def parse_record(value, where, owner):
    record = empty_record()
    if value is None:
        return record
    if not isinstance(value, dict) or not all(isinstance(value.get(f, []), list) for f in RECORD_FIELDS):
        raise MergeError("{0}: annotation {1}: the entry of owner '{2}' is malformed".format(where, ROUTES_ANNOTATION, owner))
    for field in RECORD_FIELDS:
        for item in value.get(field, []):
            if field in ("tls", "tcp"):
                record[field].add(match_key(item if isinstance(item, list) else []))
            elif isinstance(item, str):
                record[field].add(item)
    return record


def serialise_record(record):
    result = {}
    for field in RECORD_FIELDS:
        items = sorted(record[field])
        if items:
            result[field] = [json.loads(key) for key in items] if field in ("tls", "tcp") else items
    return result


def read_records(live, where):
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(ROUTES_ANNOTATION)
    if not raw:
        return {}
    try:
        records = json.loads(raw)
    except ValueError:
        records = None
    if not isinstance(records, dict):
        raise MergeError("{0}: annotation {1} is not a JSON object of owner records; fix or remove it".format(where, ROUTES_ANNOTATION))
    return records


def with_record(metadata, records, owner, record):
    """``metadata`` with the owner's record replaced by ``record``."""
    records = dict(records)
    if any(record.values()):
        records[owner] = serialise_record(record)
    else:
        records.pop(owner, None)
    metadata = dict(metadata)
    annotations = dict(metadata.get("annotations") or {})
    if records:
        annotations[ROUTES_ANNOTATION] = json.dumps(records, sort_keys=True, separators=(",", ":"))
    else:
        annotations.pop(ROUTES_ANNOTATION, None)
    metadata["annotations"] = annotations
    if not annotations:
        metadata.pop("annotations")
    if records and owner not in records and is_owned_by({"metadata": metadata}, owner):
        # The owner label must name a set that still holds the object, or that
        # set's label-selected LIST would find an object it no longer has.
        metadata["labels"] = dict(metadata["labels"], **{OWNER_LABEL: sorted(records)[0]})
    return metadata
