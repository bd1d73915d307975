#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: egress_plan
short_description: Check every input of the collection's roles and plan the external hosts, before any request
version_added: 0.3.0
author:
  - meshops engineers (@meshops)
description:
  - The first step of C(meshops.istio_egress.site). Validates and normalises the host list in one pass, checks the settings of the
    C(external_services), C(egress_gateway) and (for per-namespace Sidecars) C(outbound_policy) roles, and the combinations of
    hosts and settings. Reads and writes nothing.
  - Fails with every error at once, each naming the item and field (as the roles' variables name them, given O(variable_names)).
  - Sets the fact C(egress_plan), the plan's summary; the egress gateway role takes its C(gateway_ports).
  - The objects themselves are rendered by M(meshops.istio_egress.egress_hosts), from the same inputs through the same function,
    in its own process; passing thousands of objects through Ansible's variables would cost seconds.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It reads and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
  idempotent:
    description: A pure function of its input.
    support: full
options:
  hosts:
    description:
      - The C(external_services_hosts) list (see the C(external_services) role). Anything else is refused naming the list (a string
        is not split into a list).
    type: raw
    required: true
  settings:
    description: The C(external_services) role's rendering settings (its C(external_services_settings)).
    type: dict
    required: true
  gateway_settings:
    description: The C(egress_gateway) role's settings (its C(egress_gateway_settings)).
    type: dict
    required: true
  sidecar_settings:
    description: The C(outbound_policy) role's Sidecar settings (its C(outbound_policy_sidecar_settings)) when it writes Sidecars.
    type: dict
  variable_names:
    description:
      - What the errors call the inputs - C(hosts) (the list's name), and C(settings), C(gateway), C(sidecar) (each a mapping from
        a setting's key to its name). The roles pass their variables' names; unnamed, an input is called by its option and key.
    type: dict
    default: {}
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0 (imported with the collection's other modules)
seealso:
  - module: meshops.istio_egress.egress_hosts
"""

EXAMPLES = r"""
- name: Check every input before touching the cluster
  meshops.istio_egress.egress_plan:
    hosts: "{{ external_services_hosts }}"
    settings: "{{ external_services_settings }}"
    gateway_settings: "{{ egress_gateway_settings }}"
    variable_names:
      hosts: external_services_hosts
      settings: "{{ external_services_variable_names.settings }}"
      gateway: "{{ egress_gateway_variable_names }}"

- name: Show the ports the egress gateway Service must carry
  ansible.builtin.debug:
    var: egress_plan.gateway_ports
"""

RETURN = r"""
ansible_facts:
  description: The plan's summary.
  returned: success
  type: dict
  contains:
    egress_plan:
      description:
        - C(hosts), C(via_gateway), C(direct) - host counts; C(gateway_ports) - the ports (C(number), C(protocol)) the egress gateway
          Service must carry; C(warnings) - what works as declared but is probably not what was meant.
      type: dict
      sample: {hosts: 2, via_gateway: 2, direct: 0, gateway_ports: [{number: 80, protocol: HTTP}], warnings: []}
errors:
  description: Every error, when the input was refused.
  returned: failure
  type: list
  elements: str
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module
from ansible_collections.meshops.istio_egress.plugins.module_utils._plan import module_result


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = dict(
        hosts=dict(type="raw", required=True),
        settings=dict(type="dict", required=True),
        gateway_settings=dict(type="dict", required=True),
        sidecar_settings=dict(type="dict"),
        variable_names=dict(type="dict", default={}),
    )
    return ModuleSpec(argument_spec, module_result)


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
