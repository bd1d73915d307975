# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The external_services role's whole job in one process: plan the host list
(validate, normalise, render: ``_plan.plan_hosts``), then write files (render mode) or converge the
cluster: the owned objects through object_apply, the VirtualService routes
through the virtual_service module's own batch merge.

One process because Ansible templates every variable it holds: a rendered
set of 4,000 objects costs seconds per pass through set_fact or module
arguments, while rendering it here costs milliseconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils import _applyset, _manifests as manifests
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_apply import plan_object_set, planned_deletes, write_object_set
from ansible_collections.meshops.istio_egress.plugins.module_utils._plan import plan_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._prune_guard import check_empty_prune
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_apply import apply_batch as apply_virtual_services
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_apply import plan_batch as plan_virtual_services
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_apply import released as released_virtual_services
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_merge import desired_from_options, merge
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import prepare


class InputError(Exception):
    """Invalid input; nothing was read or written."""


def _render(params):
    # Errors name the host list as the caller's user knows it: the option, or the role's variable.
    names = params.get("variable_names") or {}
    plan = plan_hosts(params["hosts"], dict(params["settings"] or {}, owner=params["owner"]), hosts_name=names.get("hosts") or "hosts",
                      setting_names=names.get("settings"), render=True)
    if plan.errors:
        raise InputError("{0} error(s), nothing was changed:\n- {1}".format(len(plan.errors), "\n- ".join(plan.errors)))
    for item in plan.rendered["virtual_services"]:
        prepare(desired_from_options(item))  # an invalid route fails here, before any write
    return plan.rendered, plan.settings


def _write_files(rendered, settings, params, check_mode):
    virtual_services = [merge(None, desired_from_options(item), params["owner"], api_version=settings["api_version"]).obj
                        for item in rendered["virtual_services"]]
    return manifests.sync_directory(params["render_dir"], rendered["objects"] + virtual_services, params["prune"], check_mode)


def _converge_cluster(rendered, settings, params, connect, check_mode, want_diff):
    cluster = connect()
    route_params = {
        "owner": params["owner"],
        "state": "present",
        "conflict_retries": params["conflict_retries"],
        "virtual_services": rendered["virtual_services"],
        "namespace": settings["namespace"],
        "prune": params["prune"],
        "api_version": settings["api_version"],
    }
    # The shared VirtualServices are read and merged first: a refusal there
    # (a route record someone garbled) comes before any write.
    route_plan = plan_virtual_services(route_params, cluster)
    # The owner's hosts are an ApplySet whose parent sits beside them.
    applyset = {"name": _applyset.parent_name(params["owner"], "hosts"), "namespace": settings["namespace"]}
    object_plan = plan_object_set(cluster, rendered["objects"], params["owner"], params["prune"], params["prune_scope"], applyset)
    # Both plans are read before any write: an empty host list is refused with nothing changed.
    check_empty_prune(len(params["hosts"]), params["prune"],
                      planned_deletes(object_plan) + released_virtual_services(route_plan),
                      params.get("allow_empty_prune", False), params["owner"], params.get("variable_names"))
    objects = write_object_set(cluster, object_plan, params["owner"], check_mode, want_diff)
    routes = apply_virtual_services(cluster, route_plan, route_params, check_mode, want_diff)
    result = {
        "changed": objects["changed"] or routes["changed"],
        "objects": dict((key, objects[key]) for key in ("created", "updated", "deleted", "unchanged", "api_versions", "applyset")),
        "virtual_services": routes["counts"],
        "warnings": object_plan.warnings,
    }
    for field in ("routes_added", "routes_updated", "routes_removed"):
        result[field] = routes[field]
    if want_diff:
        result["diff"] = objects["diff"] + routes["diff"]
    return result


def converge(params, connect, check_mode=False, want_diff=False):
    """The module result. ``connect()`` returns a k8s_glue.Cluster; it is not
    called in render mode, nor before the input has been validated."""
    rendered, settings = _render(params)
    summary = dict(rendered["summary"])
    if params.get("render_dir"):
        files = _write_files(rendered, settings, params, check_mode)
        result = {"changed": files["changed"], "files": dict((k, files[k]) for k in ("path", "written", "removed", "unchanged"))}
        if want_diff:
            result["diff"] = files["diff"]
        summary.update(written_to=files["path"], files_written=len(files["written"]), files_removed=len(files["removed"]))
    else:
        result = _converge_cluster(rendered, settings, params, connect, check_mode, want_diff)
        objects = result["objects"]
        summary.update(created=len(objects["created"]), updated=len(objects["updated"]), unchanged=objects["unchanged"],
                       pruned=len(objects["deleted"]), virtual_services=result["virtual_services"])
    result["summary"] = summary
    result["warnings"] = rendered["warnings"] + result.get("warnings", [])
    return result
