#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: egress_gateway_facts
short_description: Find the Istio egress gateway, say who installed it and what an install mode would do
version_added: 0.3.0
author:
  - meshops engineers (@meshops)
description:
  - Validates the gateway settings, then reads the gateway Deployment (by its selector labels, and by its name when it lacks
    them), its Service and, before a first V(manifest) install, its namespace. Writes nothing.
  - Returns who installed the gateway, whether its replicas are ready, the Service's ports, and the action the role takes - V(install)
    (install, or keep up to date, the gateway that O(install) maintains), V(none) or V(leave) (another installer's gateway).
  - Fails, naming what it looked for, when the gateway is absent and O(install=none), when a Deployment of the gateway's name lacks
    the selector labels, when another Deployment carries them, or when a V(manifest) install has no usable namespace.
  - With O(wait), waits until the Deployment has all its replicas ready (and at least one) first.
  - With O(render), reads nothing and returns what the install would give.
  - Sets the fact C(egress_gateway_facts), what the other roles read (see RV(ansible_facts.egress_gateway_facts)).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio_egress.k8s_request
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It writes nothing; in check mode the ports returned for a gateway it would install are those the install would give.
  diff_mode:
    support: none
  platform:
    platforms: kubernetes
  idempotent:
    description: Running twice with the same input changes nothing the second time.
    support: full
options:
  settings:
    description:
      - The gateway - C(name), C(namespace), C(selector), C(revision), C(extra_ports), C(min_replicas), C(max_replicas),
        C(cpu_target), C(resources), as the C(egress_gateway) role's variables of those names.
    type: dict
    required: true
  install:
    description: The install mode whose gateway is maintained (see the C(egress_gateway) role).
    type: str
    choices: [none, manifest, helm, istioctl]
    default: none
  owner:
    description: The ownership set of a V(manifest) install.
    type: str
    required: true
  helm_release:
    description: The release of a V(helm) install.
    type: str
    default: istio-egressgateway
  cluster_domain:
    description: The cluster's DNS domain, for C(egress_gateway_facts.service_fqdn).
    type: str
    default: cluster.local
  wait:
    description: Wait until the gateway Deployment has its replicas ready.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait).
    type: int
    default: 300
  render:
    description: Read nothing; return what the install would give (render mode).
    type: bool
    default: false
  variable_names:
    description:
      - The names the messages use for C(install) and each key of O(settings) (a role passes its variable names); a key without
        one is named as it is.
    type: dict
    default: {}
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Find the egress gateway istioctl installed
  meshops.istio_egress.egress_gateway_facts:
    owner: cluster-eu1
    settings:
      name: istio-egressgateway
      namespace: istio-system
      selector: {istio: egressgateway}
  register: gateway_state
"""

RETURN = r"""
gateway:
  description: The gateway's state and what the role does about it.
  returned: always
  type: dict
  contains:
    action:
      description: V(install), V(none), V(leave), or V(render) with O(render).
      type: str
    manager:
      description: Who installed the live Deployment - C(manifest/<owner>), C(helm/<release>), C(istioctl), C(other) or C(absent).
      type: str
    ready:
      description: Whether the Deployment has all its replicas ready (and at least one).
      type: bool
    wait_after_install:
      description: Whether the role waits after the install step (not in check mode for a gateway it would create).
      type: bool
ansible_facts:
  description: Facts set.
  returned: always
  type: dict
  contains:
    egress_gateway_facts:
      description: The gateway, for the other roles.
      type: dict
      sample:
        namespace: istio-system
        name: istio-egressgateway
        service_fqdn: istio-egressgateway.istio-system.svc.cluster.local
        selector: {istio: egressgateway}
        ports: [{name: http2, port: 80, protocol: TCP, targetPort: 80}]
        installed_by: istioctl
        ready_replicas: 1
        replicas: 1
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._gateway_lookup import SettingsError, module_result
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, auth_argspec
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = auth_argspec()
    argument_spec.update(
        settings=dict(type="dict", required=True),
        install=dict(type="str", default="none", choices=["none", "manifest", "helm", "istioctl"]),
        owner=dict(type="str", required=True),
        helm_release=dict(type="str", default="istio-egressgateway"),
        cluster_domain=dict(type="str", default="cluster.local"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        render=dict(type="bool", default=False),
        variable_names=dict(type="dict", default={}),
    )
    return ModuleSpec(argument_spec, module_result, errors=(SettingsError, ApiError))


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
