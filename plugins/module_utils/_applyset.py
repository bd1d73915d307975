# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""An owner set as a Kubernetes ApplySet (KEP-3659, what ``kubectl apply --prune --applyset`` reads).

The parent is a ConfigMap. It carries the ApplySet id label and the standard
annotations: the group-kinds the set contains and the namespaces besides the
parent's. Members carry the ``part-of`` label beside the owner labels. A prune
then lists only what the set can hold, where it can hold it: no LIST across
all namespaces, so a default run needs no cluster-wide right.

The standard annotations say which kinds and which namespaces, not which kind
in which namespace; our own annotation records the exact (API version, kind,
namespace) scopes, so the prune lists exactly those, and kubectl still reads a
valid ApplySet.

Pure: the caller reads the parent and writes what these functions return.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json

from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import owner_labels

ID_LABEL = "applyset.kubernetes.io/id"
PART_OF_LABEL = "applyset.kubernetes.io/part-of"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES_ANNOTATION = "applyset.kubernetes.io/additional-namespaces"
SCOPES_ANNOTATION = "egress.meshops.io/applyset-scopes"
TOOLING = "meshops.istio_egress/v1"
PARENT_KIND, PARENT_API_VERSION = "ConfigMap", "v1"


def applyset_id(name, namespace, kind=PARENT_KIND, group=""):
    """The id KEP-3659 gives a parent: ``applyset-<base64url(sha256(name.namespace.kind.group))>-v1``."""
    digest = hashlib.sha256(".".join((name, namespace, kind, group)).encode("utf-8")).digest()
    return "applyset-{0}-v1".format(base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="))


def parent_name(owner, set_name):
    """The parent ConfigMap of an owner's set (``hosts``, ``gateway``, ``sidecars``): owners are label
    values, lower-cased here as object names must be."""
    return "meshops-egress-{0}-{1}".format(set_name, owner.lower().replace("_", "-").replace(".", "-"))[:253]


def group_kind(api_version, kind):
    """``Kind.group``, or ``Kind`` for the core group."""
    return "{0}.{1}".format(kind, api_version.split("/")[0]) if "/" in api_version else kind


def _scope_key(scope):
    return (scope[0], scope[1], scope[2] or "")


def recorded_scopes(parent):
    """The (api_version, kind, namespace or None) scopes a live parent records; None when there is no
    parent (a set made before ApplySets, or a new one)."""
    if parent is None:
        return None
    annotations = (parent.get("metadata") or {}).get("annotations") or {}
    try:
        scopes = json.loads(annotations.get(SCOPES_ANNOTATION) or "[]")
    except ValueError:
        scopes = []
    return sorted(set((api_version, kind, namespace or None) for api_version, kind, namespace in scopes), key=_scope_key)


def parent(name, namespace, owner, scopes):
    """The parent ConfigMap recording ``scopes`` ((api_version, kind, namespace or None) of the members)."""
    scopes = sorted(set(scopes), key=_scope_key)
    namespaces = sorted(set(ns for _v, _k, ns in scopes if ns and ns != namespace))
    labels = dict(owner_labels(owner))
    labels[ID_LABEL] = applyset_id(name, namespace)
    annotations = {
        TOOLING_ANNOTATION: TOOLING,
        GROUP_KINDS_ANNOTATION: ",".join(sorted(set(group_kind(v, k) for v, k, _ns in scopes))),
        NAMESPACES_ANNOTATION: ",".join(namespaces),
        SCOPES_ANNOTATION: json.dumps([[v, k, ns or ""] for v, k, ns in scopes], separators=(",", ":")),
    }
    return {"apiVersion": PARENT_API_VERSION, "kind": PARENT_KIND,
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}}


def parent_differs(live, wanted):
    """Whether the live parent lacks a label or annotation of ``wanted`` (None: no parent yet)."""
    if live is None:
        return True
    metadata = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        have = metadata.get(field) or {}
        if any(have.get(key) != value for key, value in wanted["metadata"][field].items()):
            return True
    return False


def with_part_of(body, set_id):
    """A member body: ``body`` with the part-of label."""
    metadata = dict(body["metadata"])
    metadata["labels"] = dict(metadata.get("labels") or {}, **{PART_OF_LABEL: set_id})
    return dict(body, metadata=metadata)
