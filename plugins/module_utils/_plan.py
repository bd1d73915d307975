# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The plan of an owner's external hosts: one pure function from the inputs
(the host list and the settings) to everything done with them, computed
once per run with no cluster access.

``plan_hosts`` parses and normalises the host list in one pass, checks the
settings, the combinations and (when known) the gateway Service's ports,
and, for valid input, renders from the normalised hosts without checking
anything again. ``site_plan`` adds the other roles' settings for a playbook
that runs them together: every error of every input at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway as gateway, _sidecar as sidecar
from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import parse_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import name_errors
from ansible_collections.meshops.istio_egress.plugins.module_utils._preflight import (
    combination_errors, gateway_port_errors, needed_ports, warnings,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import (
    render_valid, resolve_settings, validate_settings,
)


class Plan(object):
    """``errors`` (empty when the input is valid), ``warnings``, ``hosts``
    (normalised), ``gateway_ports`` ([{number, protocol}] the gateway Service
    must carry), ``settings`` (resolved) and, when rendered, ``rendered``
    (``objects``, ``virtual_services``, ``summary``: see ``_render.render``)."""

    def __init__(self, settings, errors, hosts=(), gateway_ports=(), warnings=(), rendered=None):
        self.settings = settings
        self.errors = list(errors)
        self.hosts = list(hosts)
        self.gateway_ports = list(gateway_ports)
        self.warnings = list(warnings)
        self.rendered = rendered

    def summary(self):
        """What a report shows without the objects."""
        via_gateway = sum(1 for host in self.hosts if host["via_gateway"])
        return {"hosts": len(self.hosts), "via_gateway": via_gateway, "direct": len(self.hosts) - via_gateway,
                "gateway_ports": self.gateway_ports, "warnings": self.warnings}


def port_list(needed):
    """``needed_ports`` as the [{number, protocol}] list the egress gateway role takes."""
    return [{"number": number, "protocol": protocol} for number, (protocol, unused) in sorted(needed.items())]


def plan_hosts(hosts, settings, hosts_name="hosts", setting_names=None, render=False):
    """The Plan of ``hosts`` under ``settings`` (unresolved). ``hosts_name``
    and ``setting_names`` ({key: name}): what the errors call the list and
    each setting (a role passes its variables' names; by default the keys).
    ``render``: also render the objects when the input is valid."""
    settings = resolve_settings(settings)
    normalized, errors = parse_hosts(hosts, hosts_name)
    errors += name_errors(validate_settings(settings), setting_names, note_key=True)
    if errors:
        return Plan(settings, errors)
    # In the order a user fixes them: the items and settings, their combinations, the gateway's ports.
    needed = needed_ports(normalized)
    errors = name_errors(combination_errors(normalized, settings, hosts_name), setting_names, note_key=True)
    if not errors and settings["gateway_service_ports"] is not None:
        errors = gateway_port_errors(needed, settings["gateway_service_ports"])
    if errors:
        return Plan(settings, errors)
    rendered = render_valid(normalized, settings) if render else None
    found = name_errors(rendered["warnings"] if rendered else warnings(normalized, settings), setting_names)
    if rendered:
        rendered["warnings"] = found
    return Plan(settings, [], normalized, port_list(needed), found, rendered)


def site_plan(hosts, hosts_settings, gateway_settings, sidecar_settings=None, names=None):
    """The Plan of a playbook that runs the three roles (meshops.istio_egress.site): the host
    list's, with the egress gateway's and (for Sidecars) the Sidecars' setting errors first.
    ``names``: what the errors call things, under ``hosts`` (the list), ``settings``,
    ``gateway`` and ``sidecar`` ({key: name} each; the roles pass their variables')."""
    names = names or {}
    host_plan = plan_hosts(hosts, hosts_settings, names.get("hosts") or "hosts", names.get("settings"))
    role_errors = gateway.validate(dict(gateway_settings), names.get("gateway"))
    if sidecar_settings:
        role_errors += sidecar.validate(dict(sidecar_settings), names.get("sidecar"))
    host_plan.errors = role_errors + host_plan.errors
    return host_plan


def module_result(params, connect=None, check_mode=False, want_diff=False):
    """The egress_plan module's result: every error at once, or the plan's summary as the ``egress_plan`` fact."""
    names = params.get("variable_names") or {}
    plan = site_plan(params["hosts"], params["settings"], params["gateway_settings"], params.get("sidecar_settings"), names)
    if plan.errors:
        raise ModuleFailure("\n- ".join(["settings and {0}: {1} error(s); nothing was changed:".format(
            names.get("hosts") or "hosts", len(plan.errors))] + plan.errors), errors=plan.errors)
    return {"ansible_facts": {"egress_plan": plan.summary()}}
