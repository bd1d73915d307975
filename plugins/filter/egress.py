# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over ``external_services_hosts``: thin wrappers of module_utils.

Documented in validate_egress_hosts.yml, normalize_egress_hosts.yml,
render_egress.yml, egress_gateway_port_errors.yml and egress_warnings.yml
next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._plan import plan_hosts, port_list
from ansible_collections.meshops.istio_egress.plugins.module_utils._preflight import (
    gateway_port_errors, needed_ports, rendered_ports,
)


# The filters serve the external_services role: errors name its variable unless told otherwise.
VAR_NAME = "external_services_hosts"


def _fail(what, errors):
    raise AnsibleFilterError("{0} ({1} error{2}):\n- {3}".format(
        what, len(errors), "" if len(errors) == 1 else "s", "\n- ".join(errors)))


def validate_egress_hosts(hosts, var_name=VAR_NAME, settings=None, setting_names=None):
    if settings is None:
        return validate_hosts(hosts, var_name=var_name)
    return plan_hosts(hosts, dict(settings), var_name, setting_names=dict(setting_names or {})).errors


def normalize_egress_hosts(hosts, var_name=VAR_NAME):
    errors = validate_hosts(hosts, var_name=var_name)
    if errors:
        _fail("invalid " + var_name, errors)
    return normalize_hosts(hosts)


def render_egress(hosts, settings=None, var_name=VAR_NAME, **overrides):
    if settings is not None and not isinstance(settings, dict):
        raise AnsibleFilterError("render_egress: settings must be a dict, got {0}".format(
            type(settings).__name__))
    return _checked(hosts, settings, overrides, var_name, "cannot render the egress objects", render=True).rendered


def egress_gateway_port_errors(data, gateway_ports, var_name=VAR_NAME):
    if gateway_ports is None:
        return []  # the Service's ports are not known: nothing to check
    if not isinstance(gateway_ports, list):
        raise AnsibleFilterError("egress_gateway_port_errors: gateway_ports must be a list of port numbers or "
                                 "Service port dicts, got {0}".format(type(gateway_ports).__name__))
    if isinstance(data, dict) and "objects" in data:
        return gateway_port_errors(rendered_ports(data), gateway_ports)
    if _is_port_list(data):
        # The few ports egress_gateway_ports listed: a cheap first check, naming no host.
        needed = dict((_port_number(p["number"]), (p["protocol"], ["(see " + var_name + ")"])) for p in data)
        return gateway_port_errors(needed, gateway_ports)
    return gateway_port_errors(needed_ports(normalize_egress_hosts(data, var_name)), gateway_ports)


def _is_port_list(data):
    return isinstance(data, list) and all(isinstance(p, dict) and "number" in p and "host" not in p for p in data)


def _port_number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("egress_gateway_port_errors: port number {0!r} is not an integer".format(value))


def egress_gateway_ports(hosts, var_name=VAR_NAME):
    return port_list(needed_ports(normalize_egress_hosts(hosts, var_name)))


def egress_warnings(hosts, settings=None, var_name=VAR_NAME, **overrides):
    return _checked(hosts, settings, overrides, var_name, "cannot check the egress hosts").warnings


def _checked(hosts, settings, overrides, var_name, failure, render=False):
    """The plan of ``hosts`` under ``settings`` with ``overrides``, failing with every input error."""
    merged = dict(settings or {})
    merged.update(overrides)
    plan = plan_hosts(hosts, merged, var_name, render=render)
    if plan.errors:
        _fail(failure, plan.errors)
    return plan


class FilterModule(object):
    def filters(self):
        return {
            "validate_egress_hosts": validate_egress_hosts,
            "normalize_egress_hosts": normalize_egress_hosts,
            "render_egress": render_egress,
            "egress_gateway_port_errors": egress_gateway_port_errors,
            "egress_gateway_ports": egress_gateway_ports,
            "egress_warnings": egress_warnings,
        }
