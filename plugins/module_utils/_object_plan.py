# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Plan the writes that turn the owned objects in a cluster into a desired set.

Pure: the caller LISTs what it owns (one request per kind and namespace) and
hands it in; the plan says which objects to create, update and delete. An
object needs an update when the configuration we last applied differs (a hash
in an annotation, so fields we stopped setting are noticed) or when something
we set drifted in the live object (server-filled fields are not drift).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import (
    canonical, contains, resource_quantities, strip_server_fields)
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import owner_error, with_owner_labels

CONFIG_HASH_ANNOTATION = "egress.meshops.io/config-hash"


class PlanError(Exception):
    pass


def object_key(obj):
    metadata = obj.get("metadata") or {}
    return (obj.get("kind"), metadata.get("namespace") or "", metadata.get("name"))


def describe(obj):
    kind, namespace, name = object_key(obj)
    return "{0}/{1}/{2}".format(kind, namespace, name) if namespace else "{0}/{1}".format(kind, name)


def _config_hash(body):
    metadata = body.get("metadata") or {}
    hashed = {key: value for key, value in body.items() if key not in ("metadata", "apiVersion", "status")}
    hashed["metadata"] = {"labels": metadata.get("labels") or {}, "annotations": metadata.get("annotations") or {}}
    encoded = json.dumps(canonical(hashed), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]


def prepare(definitions, owner, extra_labels=None):
    """Desired bodies: our labels (and ``extra_labels``) and the config hash added; errors listed."""
    prepared, errors, seen = [], [owner_error(owner)] if owner_error(owner) else [], {}
    for index, definition in enumerate(definitions):
        where = "definitions[{0}]".format(index)
        if not isinstance(definition, dict):
            errors.append("{0}: must be a dict, got {1}".format(where, type(definition).__name__))
            continue
        missing = [field for field in ("apiVersion", "kind") if not definition.get(field)]
        if not (definition.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            errors.append("{0}: missing {1}".format(where, ", ".join(missing)))
            continue
        key = object_key(definition)
        if key in seen:
            errors.append("{0}: {1} is also definitions[{2}]".format(where, describe(definition), seen[key]))
            continue
        seen[key] = index
        body = with_owner_labels(definition, owner)
        metadata = body["metadata"]
        metadata["labels"].update(extra_labels or {})
        annotations = dict(metadata.get("annotations") or {})
        annotations.pop(CONFIG_HASH_ANNOTATION, None)
        metadata["annotations"] = annotations
        annotations[CONFIG_HASH_ANNOTATION] = _config_hash(body)
        prepared.append(body)
    if errors:
        raise PlanError("; ".join(errors))
    return prepared


def needs_update(live, desired):
    live_annotations = (live.get("metadata") or {}).get("annotations") or {}
    desired_hash = desired["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    if live_annotations.get(CONFIG_HASH_ANNOTATION) != desired_hash:
        return True
    wanted = resource_quantities(canonical(strip_server_fields(desired)))
    wanted.pop("apiVersion", None)  # the server may answer in another served version
    return not contains(resource_quantities(canonical(strip_server_fields(live))), wanted)


def update_body(live, desired):
    """The PUT body: desired content on the live object's identity, keeping
    labels and annotations that others added."""
    body = dict(desired)
    live_meta = live.get("metadata") or {}
    metadata = dict(desired["metadata"])
    for field in ("labels", "annotations"):
        merged = dict(live_meta.get(field) or {})
        merged.update(metadata.get(field) or {})
        metadata[field] = merged
    metadata["resourceVersion"] = live_meta.get("resourceVersion")
    body["metadata"] = metadata
    return body


def plan(desired, live_owned, prune):
    """Split into creates, updates ((live, body) pairs), deletes and unchanged.

    ``live_owned`` holds only objects carrying this owner's labels, so a
    delete can never reach an object that is not ours.
    """
    live_by_key = dict((object_key(obj), obj) for obj in live_owned)
    result = {"create": [], "update": [], "delete": [], "unchanged": []}
    for body in desired:
        live = live_by_key.pop(object_key(body), None)
        if live is None:
            result["create"].append(body)
        elif needs_update(live, body):
            result["update"].append((live, update_body(live, body)))
        else:
            result["unchanged"].append(live)
    if prune:
        result["delete"] = sorted(live_by_key.values(), key=object_key)
    return result
