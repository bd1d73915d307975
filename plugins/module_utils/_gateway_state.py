# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""What the egress gateway is on the cluster, and what the egress_gateway role does about it.

``decide`` takes what the module read (the Deployments carrying the selector
labels, the Deployment of the gateway's name when it lacks them, the Service,
the namespace) and returns the errors, the action (install / none / leave),
readiness and the ports the other roles see. Pure, so one table in the unit
tests holds every case; the module only reads and calls it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway as gateway

# The option each message names; the role passes its variable names instead.
DEFAULT_NAMES = {"name": "name", "namespace": "namespace", "selector": "selector", "install": "install"}


def install_ports(settings, install):
    """The Service ports the ``install`` mode gives the gateway (istioctl's pods listen on 8080/8443 behind 80/443)."""
    if install == "istioctl":
        return gateway.istio_operator(settings)["spec"]["components"]["egressGateways"][0]["k8s"]["service"]["ports"]
    return [dict(port) for port in gateway.service_ports(settings.get("extra_ports"))]


def _ready(deployment):
    status = deployment.get("status") or {}
    wanted = max((deployment.get("spec") or {}).get("replicas", 1) or 1, 1)
    return (status.get("readyReplicas") or 0) >= wanted


def _port_numbers(ports):
    return sorted(int(p["port"]) for p in ports or [])


def _errors(settings, install, found, named, others, namespace, names):
    where, name = settings["namespace"], settings["name"]
    labels = ",".join("{0}={1}".format(k, v) for k, v in sorted(settings["selector"].items()))
    if found:
        return []
    if named:
        return ["Deployment {0}/{1} exists but lacks the selector labels {2}, so Istio Gateway objects would not select its pods: "
                "set {3} to its pods' labels. Nothing was changed.".format(where, name, labels, names["selector"])]
    if others:
        return ["No Deployment named {0} in {1}, but {2} carries the selector labels {3}: set {4} to use it, or set another {5} so "
                "that two gateways do not share their pods' labels. Nothing was changed.".format(
                    name, where, ", ".join(others), labels, names["name"], names["selector"])]
    if install == "none":
        return ["No egress gateway found: no Deployment named {0} with labels {1} in namespace {2}. Set {3} to install one: "
                "'manifest' (this role applies the objects of Istio's istio/gateway chart), 'helm' (the istio/gateway chart, needs "
                "the helm binary) or 'istioctl' (istioctl install with an IstioOperator overlay); or install it yourself "
                "(https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/) and point {4} / {5} / {6} at it. "
                "Nothing was changed.".format(name, labels, where, names["install"], names["namespace"], names["name"], names["selector"])]
    if install == "manifest":
        # The gateway pod is an "image: auto" placeholder: without injection it never runs.
        if namespace is None:
            return ["Namespace {0} does not exist; create it (not labelled istio-injection=disabled) or set {1}. "
                    "Nothing was changed.".format(where, names["namespace"])]
        if ((namespace.get("metadata") or {}).get("labels") or {}).get("istio-injection") == "disabled":
            return ["Namespace {0} is labelled istio-injection=disabled, so Istio would not inject the gateway's proxy and its pods "
                    "could not start. Remove the label or choose another {1}. Nothing was changed.".format(where, names["namespace"])]
    return []


def _action(install, manager, expected, service_ports, wanted_ports):
    if install == "none":
        return "none"
    if manager == "absent":
        return "install"
    if manager != expected:
        return "leave"
    # istioctl reports no difference: it runs only to add the ports the Service lacks.
    if install == "istioctl" and _port_numbers(service_ports) == _port_numbers(wanted_ports):
        return "none"
    return "install"


def decide(settings, install, owner, helm_release, selected, named=None, service=None, namespace=None, check_mode=False,
           wait=True, names=None):
    """The gateway's state and what to do.

    ``settings``: the gateway settings (``gateway.validate`` checks them);
    ``selected``: the Deployments in the namespace carrying the selector labels;
    ``named``: the Deployment of the gateway's name when it is not among them (None: none);
    ``service``: the gateway Service (None: absent); ``namespace``: the Namespace object,
    read only for a first manifest install (None: absent or not read).
    """
    names = dict(DEFAULT_NAMES, **(names or {}))
    found = [d for d in selected if d["metadata"]["name"] == settings["name"]]
    deployment = found[0] if found else {}
    others = sorted(d["metadata"]["name"] for d in selected if d["metadata"]["name"] != settings["name"])
    manager = gateway.manager(deployment)
    expected = gateway.expected_manager(install, owner, helm_release)
    wanted_ports = install_ports(settings, install) if install != "none" else None
    live_ports = ((service or {}).get("spec") or {}).get("ports")
    errors = _errors(settings, install, bool(found), named, others, namespace, names)
    action = "none" if errors else _action(install, manager, expected, live_ports, wanted_ports)
    installs = action == "install"
    if installs and check_mode:
        ports = wanted_ports  # check mode installs nothing: the ports its install would give
    else:
        ports = live_ports if service else wanted_ports
    result = {
        "errors": errors,
        "action": action,
        "manager": manager,
        "installed_by": expected if installs and manager == "absent" else manager,
        "ready": bool(deployment) and _ready(deployment),
        "ready_replicas": ((deployment.get("status") or {}).get("readyReplicas")) or 0,
        "replicas": (deployment.get("spec") or {}).get("replicas", settings.get("min_replicas", 1)),
        "ports": ports,
        # In check mode nothing was installed, so there is nothing to wait for.
        "wait_after_install": bool(wait) and not (check_mode and manager == "absent"),
    }
    if action == "leave":
        result["warning"] = "Found gateway {0}/{1} installed by {2}; {3}={4} leaves it alone.".format(
            settings["namespace"], settings["name"], manager, names["install"], install)
    return result


def not_ready_message(settings, deployment, timeout):
    """Why the wait gave up."""
    return ("The egress gateway {0}/{1} was not ready within {2}s: {3} of {4} replicas ready. Look at its pods' events (Istio's "
            "injector replaces the \"auto\" image: is istiod running, is the namespace's injection enabled?).").format(
        settings["namespace"], settings["name"], timeout, ((deployment or {}).get("status") or {}).get("readyReplicas") or 0,
        ((deployment or {}).get("spec") or {}).get("replicas", "?"))


def facts(settings, state, cluster_domain, apply=True):
    """``egress_gateway_facts``: what the other roles read."""
    return {
        "namespace": settings["namespace"],
        "name": settings["name"],
        "service_fqdn": "{0}.{1}.svc.{2}".format(settings["name"], settings["namespace"], cluster_domain),
        "selector": settings["selector"],
        "ports": state["ports"],
        "installed_by": state["installed_by"] if apply else "render mode",
        "ready_replicas": state["ready_replicas"],
        "replicas": state["replicas"],
    }


def render_state(settings, install):
    """Render mode reads no cluster: the ports the install would give (unknown with install none)."""
    return {
        "errors": [],
        "action": "render" if install != "none" else "none",
        "manager": "",
        "installed_by": "render mode",
        "ready": False,
        "ready_replicas": 0,
        "replicas": settings.get("min_replicas", 1),
        "ports": install_ports(settings, install) if install != "none" else None,
        "wait_after_install": False,
    }
