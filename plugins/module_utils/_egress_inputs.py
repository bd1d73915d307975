# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Every error of a host list and its settings, for the module and the filters.

Kept apart from egress_converge so that the filter plugins, which Ansible
loads again in every task's worker process, never import the kubernetes client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import VAR_NAME, normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._preflight import combination_errors, gateway_port_errors, needed_ports
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import name_setting_variables, validate_settings


def input_errors(hosts, settings, var_name=VAR_NAME, role_variables=False):
    """Every error of ``hosts`` under the resolved ``settings``, in the order a
    user fixes them: the items and settings, then their combinations, then
    what the egress gateway Service (when its ports are known) cannot carry.
    ``role_variables``: settings named by the role variables that set them."""
    setting_errors = validate_settings(settings)
    errors = validate_hosts(hosts, var_name=var_name) + (name_setting_variables(setting_errors) if role_variables else setting_errors)
    if errors:
        return errors
    normalized = normalize_hosts(hosts)
    errors = combination_errors(normalized, settings, var_name)
    if not errors and settings["gateway_service_ports"] is not None:
        errors = gateway_port_errors(needed_ports(normalized), settings["gateway_service_ports"])
    return errors
