# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The ownership mark every object we write carries, and how to select it.

A rerun finds exactly its own objects with one label-selected LIST per kind;
objects without both labels are never modified or deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import is_label_value

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "meshops.istio_egress"
OWNER_LABEL = "egress.meshops.io/owner"
# VirtualServices are shared: the routes each owner manages are recorded here
# (JSON: {owner: {"http": [...], "tls": [...], ...}}, see vs_merge) instead of
# owning the whole object.
ROUTES_ANNOTATION = "egress.meshops.io/routes"


def owner_error(owner):
    """Why ``owner`` cannot name an ownership set (it is a label value), or None."""
    if isinstance(owner, str) and owner and is_label_value(owner):
        return None
    return ("owner: {0!r} is not a valid ownership set name (a label value: 1-63 characters of A-Z, a-z, 0-9, '-', "
            "'_', '.', starting and ending alphanumeric)".format(owner))


def owner_labels(owner):
    return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, OWNER_LABEL: owner}


def owner_selector(owner):
    return "{0}={1},{2}={3}".format(MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL, owner)


def is_managed(obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def is_owned_by(obj, owner):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return is_managed(obj) and labels.get(OWNER_LABEL) == owner


def with_owner_labels(definition, owner):
    """Return a copy of ``definition`` whose metadata carries our labels."""
    result = dict(definition)
    metadata = dict(result.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    labels.update(owner_labels(owner))
    metadata["labels"] = labels
    result["metadata"] = metadata
    return result
