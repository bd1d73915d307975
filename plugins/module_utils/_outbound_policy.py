# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The outbound_policy module's job: check, then set, the mesh's outboundTrafficPolicy.

Mesh-wide, in istiod's mesh ConfigMap (``meshconfig.edit`` decides the new
text; the write is a merge patch guarded by the read's resourceVersion, and a
concurrent edit is read and decided again, as ``retry.py`` says), or per
namespace, as this owner's namespace-wide Sidecars (refusing a foreign one,
converged through ``object_apply``). ``state: check`` reads and refuses what
it could not do, and writes nothing: a playbook runs it before anything else
writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.meshops.istio_egress.plugins.module_utils import _applyset, _meshconfig as meshconfig, _sidecar as sidecar
from ansible_collections.meshops.istio_egress.plugins.module_utils._api_errors import explain_api_error
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_apply import apply_object_set
from ansible_collections.meshops.istio_egress.plugins.module_utils._retry import CONFLICT_RETRIES, conflict_backoff

DEFAULT_NAMES = {"mode": "mode", "istio_namespace": "istio_namespace", "revision": "revision", "namespaces": "sidecar.namespaces",
                 "target": "target"}
# The Sidecar settings the module takes in its sidecar option.
DEFAULT_NAMES.update((key, "sidecar." + key) for key in ("name", "hosts", "hosts_namespace", "gateway_namespace", "api_version"))


class PolicyError(Exception):
    """Refused: what the message says; nothing was written."""


def configmap_name(revision):
    """istiod's mesh ConfigMap: ``istio``, or ``istio-<revision>``."""
    return "istio-{0}".format(revision) if revision else "istio"


def _not_found(ref, namespace, revision, names):
    return ("{0} not found: is istiod installed there? Check {1} ({2}) and {3} ('{4}'; the ConfigMap of revision R is istio-R). "
            "Nothing was changed.".format(ref, names["istio_namespace"], namespace, names["revision"], revision))


def _conflicts_message(found, name, mode, names):
    return ("These Sidecars apply to whole namespaces (no workloadSelector) or have the name {0}, and are not ours: {1}. Istio allows "
            "one namespace-wide Sidecar per namespace: add outboundTrafficPolicy.mode={2} to them yourself, delete them, or leave their "
            "namespaces out of {3}. Nothing was changed.".format(name, ", ".join(found), mode, names["namespaces"]))


def _meshconfig(cluster, params, check_mode, want_diff, names, sleep):
    namespace, revision, mode = params["istio_namespace"], params["revision"], params["mode"]
    name = configmap_name(revision)
    ref = "ConfigMap {0}/{1}".format(namespace, name)
    resource = cluster.resource("v1", "ConfigMap")
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            live = cluster.get(resource, name, namespace)
        except ApiError as exc:
            raise ApiError(explain_api_error(exc, "read " + ref), exc.status, exc.reason)
        if live is None:
            raise PolicyError(_not_found(ref, namespace, revision, names))
        before = (live.get("data") or {}).get("mesh", "")
        edit = meshconfig.edit(before, mode, ref)
        result = {"changed": False, "differs": edit["differs"], "previous_mode": edit["previous_mode"], "configmap": ref, "mode": mode}
        if want_diff and edit["differs"] and params["state"] == "present":
            result["diff"] = {"before": {"mesh": before}, "after": {"mesh": edit["mesh"]}, "before_header": ref, "after_header": ref}
        if params["state"] == "check" or not edit["differs"]:
            return result
        # A precondition: a concurrent edit of the mesh config answers 409, never gets overwritten.
        body = {"metadata": {"resourceVersion": live["metadata"]["resourceVersion"]}, "data": {"mesh": edit["mesh"]}}
        try:
            cluster.merge_patch(resource, name, namespace, body, dry_run=check_mode)
            result["changed"] = True
            return result
        except ApiError as exc:
            if exc.status != 409 or attempt == CONFLICT_RETRIES:
                raise ApiError(explain_api_error(exc, "set outboundTrafficPolicy in " + ref), exc.status, exc.reason)
        sleep(conflict_backoff(attempt + 1, random.random()))
    return None  # not reached: the loop returns or raises


def _sidecar_settings(params):
    """What ``_sidecar`` takes: the module's ``sidecar`` option with the mode and istiod's namespace."""
    return dict(params["sidecar"] or {}, mode=params["mode"], istio_namespace=params["istio_namespace"])


def _sidecars(cluster, params, check_mode, want_diff, names):
    settings = _sidecar_settings(params)
    definitions = sidecar.definitions(settings)
    resource = cluster.resource(settings.get("api_version") or sidecar.API_VERSION, sidecar.KIND)
    live = []
    for namespace in sorted(set(settings["namespaces"])):
        live.extend(cluster.list(resource, namespace))
    found = sidecar.conflicts(live, settings["name"], params["owner"])
    if found:
        raise PolicyError(_conflicts_message(found, settings["name"], params["mode"], names))
    if params["state"] == "check":
        return {"changed": False, "differs": None, "sidecars": len(definitions)}
    # An ApplySet whose parent sits in istiod's namespace: a namespace dropped from the list loses our
    # Sidecar, found where the parent recorded it. Sidecars made before ApplySets are adopted from a LIST
    # across all namespaces, once.
    legacy_scope = [{"api_version": resource.group_version, "kind": sidecar.KIND}]
    applyset = {"name": _applyset.parent_name(params["owner"], "sidecars"), "namespace": params["istio_namespace"]}
    applied = apply_object_set(cluster, definitions, params["owner"], prune=True, prune_scope=legacy_scope, check_mode=check_mode,
                               want_diff=want_diff, applyset=applyset)
    return dict(applied, sidecars=len(definitions))


def input_errors(params, names):
    """Every error in the settings, before any request."""
    if params["target"] == "sidecar":
        return sidecar.validate(_sidecar_settings(params), names)
    try:
        meshconfig.check_mode(params["mode"], names["mode"])
    except meshconfig.MeshConfigError as exc:
        return [str(exc)]
    return []


def set_policy(params, connect, check_mode=False, want_diff=False, sleep=time.sleep):
    """The module's result; ``connect()`` returns a k8s_glue.Cluster, called only for valid settings."""
    names = dict(DEFAULT_NAMES, **(params.get("variable_names") or {}))
    errors = input_errors(params, names)
    if errors:
        raise PolicyError("outbound policy settings have {0} error(s); nothing was changed: {1}".format(len(errors), " ".join(errors)))
    cluster = connect()
    if params["target"] == "sidecar":
        result = _sidecars(cluster, params, check_mode, want_diff, names)
    else:
        result = _meshconfig(cluster, params, check_mode, want_diff, names, sleep)
    result["facts"] = {"mode": params["mode"], "target": params["target"]}
    result["msg"] = _report(params, result, names)
    result.setdefault("warnings", [])
    if params["mode"] == "ALLOW_ANY" and params["state"] == "present":
        result["warnings"].append(
            "{0}=ALLOW_ANY is insecure: workloads reach any host outside the mesh directly, around the egress gateway and its "
            "policies. REGISTRY_ONLY allows only the hosts registered as ServiceEntries.".format(names["mode"]))
    return result


def _report(params, result, names):
    """One sentence for the play's output."""
    if params["target"] == "sidecar":
        if params["state"] == "check":
            return "{0} Sidecar(s) checked".format(result["sidecars"])
        text = "Sidecars with outboundTrafficPolicy.mode {0}: {1} created, {2} updated, {3} deleted, {4} unchanged.".format(
            params["mode"], len(result["created"]), len(result["updated"]), len(result["deleted"]), result["unchanged"])
        if not result["sidecars"]:
            text += " {0} is empty: no Sidecars are declared, and this owner's existing ones are removed.".format(names["namespaces"])
        return text
    return ("{0}: outboundTrafficPolicy.mode {1} -> {2}. Note - a helm upgrade or istioctl install of istiod rewrites this ConfigMap; "
            "set the mode in its values ({3}=helm or istioctl) to keep it.".format(
                result["configmap"], result["previous_mode"] or "unset (ALLOW_ANY)", params["mode"], names["target"]))


def module_result(params, connect, check_mode=False, want_diff=False):
    """The outbound_policy module's result, its facts as ``outbound_policy_facts``."""
    result = set_policy(params, connect, check_mode, want_diff)
    result["ansible_facts"] = {"outbound_policy_facts": result.pop("facts")}
    return result
