# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The egress_gateway_facts module's reads: the fewest requests ``_gateway_state.decide`` needs.

A no-op run makes two: the LIST of Deployments by the selector labels and the
GET of the Service. The Deployment of the gateway's name is read only when the
LIST lacks it, the namespace only before a first manifest install.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway_state, _gateway as gateway
from ansible_collections.meshops.istio_egress.plugins.module_utils._api_errors import explain_api_error
from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError

POLL_SECONDS = 1.0


class SettingsError(Exception):
    """Invalid gateway settings; nothing was read."""


def _read(cluster, settings, install):
    namespace, name = settings["namespace"], settings["name"]
    selector = ",".join("{0}={1}".format(k, v) for k, v in sorted(settings["selector"].items()))
    deployments = cluster.resource("apps/v1", "Deployment")
    try:
        selected = cluster.list(deployments, namespace, label_selector=selector)
    except ApiError as exc:
        # The first request: a wrong token, a missing right or an unknown CA shows here, as one sentence.
        raise ApiError(explain_api_error(exc, "list Deployments in " + namespace), exc.status, exc.reason)
    reads = {"selected": selected}
    if not any(d["metadata"]["name"] == name for d in selected):
        reads["named"] = cluster.get(deployments, name, namespace)
        if install == "manifest":
            reads["namespace"] = cluster.get(cluster.resource("v1", "Namespace"), namespace)
    try:
        reads["service"] = cluster.get(cluster.resource("v1", "Service"), name, namespace)
    except ApiError as exc:
        raise ApiError(explain_api_error(exc, "read Service {0}/{1}".format(namespace, name)), exc.status, exc.reason)
    return reads


def _decide(params, settings, reads, check_mode):
    return _gateway_state.decide(settings, params["install"], params["owner"], params["helm_release"], reads["selected"],
                                 named=reads.get("named"), service=reads.get("service"), namespace=reads.get("namespace"),
                                 check_mode=check_mode, names=params.get("variable_names"))


def find_gateway(params, connect, check_mode=False, sleep=time.sleep, clock=time.monotonic):
    """The module's result: ``gateway`` (the state, ``_gateway_state.decide``) and ``facts``.
    ``connect()`` returns a k8s_glue.Cluster; it is not called with ``render`` nor for invalid settings."""
    settings = dict(params["settings"])
    errors = gateway.validate(settings, params.get("variable_names"))
    if errors:
        raise SettingsError("egress gateway settings have {0} error(s); nothing was changed: {1}".format(len(errors), " ".join(errors)))
    settings = gateway._checked(settings)
    if params.get("render"):
        state = _gateway_state.render_state(settings, params["install"])
        return {"gateway": state, "facts": _gateway_state.facts(settings, state, params["cluster_domain"], apply=False)}
    cluster = connect()
    state = _decide(params, settings, _read(cluster, settings, params["install"]), check_mode)
    if params.get("wait") and not state["errors"]:
        deadline = clock() + params["wait_timeout"]
        while not state["ready"]:
            if clock() >= deadline:
                live = cluster.get(cluster.resource("apps/v1", "Deployment"), settings["name"], settings["namespace"])
                raise ApiError(_gateway_state.not_ready_message(settings, live, params["wait_timeout"]))
            sleep(POLL_SECONDS)
            state = _decide(params, settings, _read(cluster, settings, params["install"]), check_mode)
    return {"gateway": state, "facts": _gateway_state.facts(settings, state, params["cluster_domain"])}


def module_result(params, connect, check_mode=False, want_diff=False):
    """The egress_gateway_facts module's result: ``gateway`` and the ``egress_gateway_facts`` fact."""
    found = find_gateway(params, connect, check_mode)
    state = found["gateway"]
    if state["errors"]:
        raise ModuleFailure(" ".join(state["errors"]), gateway=state)
    return {"gateway": state, "ansible_facts": {"egress_gateway_facts": found["facts"]},
            "warnings": [state["warning"]] if state.get("warning") else []}
