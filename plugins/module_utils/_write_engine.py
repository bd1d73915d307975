# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The one write engine: one object written as a decision about its live
state says, under the one conflict policy (``_retry``).

Both kinds of object the collection writes go through here: the owned
objects (``_object_apply``: created, updated, pruned) and the merged
VirtualServices (``_vs_apply``: routes merged into an object others may
share). Each says what it wants of an object as ``decide(live)``; every
write carries the resourceVersion the decision was made on, and a write
that lost a race (409, or 404 on an update: deleted meanwhile) reads the
object again and decides again, ``CONFLICT_RETRIES`` times with jittered
backoff, so no concurrent writer's change is overwritten. Check mode
writes as server-side dry runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError
from ansible_collections.meshops.istio_egress.plugins.module_utils._retry import CONFLICT_RETRIES, conflict_backoff

UNREAD = object()
CREATE, UPDATE, DELETE, NONE = "create", "update", "delete", "none"


def _write(cluster, resource, action, live, body, dry_run):
    if action == CREATE:
        return cluster.create(resource, body, dry_run=dry_run)
    if action == DELETE:
        meta = live["metadata"]
        cluster.delete(resource, meta["name"], meta.get("namespace"), meta.get("resourceVersion"), dry_run=dry_run)
        return None
    body = dict(body, apiVersion=resource.group_version)
    # The live object's identity and resourceVersion; managedFields left out, or echoing them back would rewrite them.
    metadata = dict((k, v) for k, v in body["metadata"].items() if k != "managedFields")
    metadata["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
    body["metadata"] = metadata
    return cluster.replace(resource, body, dry_run=dry_run)


def _lost_race(error, action):
    # 404 on an update: deleted since we read it; on a create it is the namespace, a real error.
    return error.status == 409 or (error.status == 404 and action == UPDATE)


def converge_one(cluster, resource, name, namespace, decide, dry_run=False, live=UNREAD, retries=CONFLICT_RETRIES):
    """Write what ``decide(live)`` says of the object ``namespace/name``.

    ``decide(live)`` (``live``: the object, or None when absent) returns
    ``(action, body)``: CREATE or UPDATE with the body to write, DELETE, or
    NONE; it raises to refuse. ``live`` saves the first read when the caller
    listed the object already. Returns ``(action, live, written)``: what was
    done, the live object the last decision was made on, and the server's
    answer (``live`` for NONE, None for DELETE).
    """
    attempt = 0
    while True:
        if live is UNREAD:
            live = cluster.get(resource, name, namespace)
        action, body = decide(live)
        if action == NONE:
            return action, live, live
        try:
            return action, live, _write(cluster, resource, action, live, body, dry_run)
        except ApiError as exc:
            if not _lost_race(exc, action):
                raise
            if attempt >= retries:
                where = "{0} {1}".format(resource.kind, "{0}/{1}".format(namespace, name) if namespace else name)
                raise ApiError(
                    "{0}: still conflicting after {1} retries, other writers keep changing it; none of our changes to it "
                    "was written (rerun, or raise conflict_retries). Last error: {2}".format(where, retries, exc),
                    exc.status, exc.reason)
        attempt += 1
        time.sleep(conflict_backoff(attempt, random.random()))
        live = UNREAD
