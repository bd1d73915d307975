#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: outbound_policy
short_description: Check or set Istio's outboundTrafficPolicy, mesh-wide or per namespace
version_added: 0.3.0
author:
  - meshops engineers (@meshops)
description:
  - With O(target=meshconfig), edits C(outboundTrafficPolicy.mode) in the C(mesh) key of istiod's mesh ConfigMap (C(istio), or
    C(istio-<revision>)) and nothing else. The write is a merge patch guarded by the read's C(resourceVersion); after a concurrent
    edit (409) the ConfigMap is read and decided again.
  - With O(target=sidecar), converges one namespace-wide C(Sidecar) per namespace in C(sidecar.namespaces) for owner O(owner),
    pruning this owner's Sidecars elsewhere. A namespace-wide Sidecar that is not this owner's is refused, as Istio allows one per
    namespace.
  - O(state=check) reads and refuses what it could not do (no mesh ConfigMap, a mesh value that is not a YAML mapping, a foreign
    Sidecar) and writes nothing, so a playbook can run it before anything else writes.
  - Every setting is checked before any request.
  - Sets the fact C(outbound_policy_facts) (C(mode), C(target)).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio_egress.k8s_request
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written; the write is sent as a server-side dry run.
  diff_mode:
    support: full
  platform:
    platforms: kubernetes
  idempotent:
    description: Running twice with the same input changes nothing the second time.
    support: full
options:
  target:
    description: Where the policy is set.
    type: str
    choices: [meshconfig, sidecar]
    default: meshconfig
  mode:
    description: C(REGISTRY_ONLY) or C(ALLOW_ANY).
    type: str
    required: true
  state:
    description: V(present) sets the policy; V(check) only reads and checks.
    type: str
    choices: [present, check]
    default: present
  istio_namespace:
    description: istiod's namespace (the mesh ConfigMap's, and the control plane the Sidecars let workloads reach).
    type: str
    default: istio-system
  revision:
    description: istiod's revision; its mesh ConfigMap is C(istio-<revision>).
    type: str
    default: ""
  owner:
    description: The ownership set of the Sidecars.
    type: str
    required: true
  sidecar:
    description:
      - For O(target=sidecar) - C(namespaces), C(name), C(gateway_namespace), C(hosts) (names or C(external_services_hosts) items),
        C(hosts_namespace), C(api_version), as the C(outbound_policy) role's variables of those names.
    type: dict
    default: {}
  variable_names:
    description:
      - The names the messages use for C(mode), C(target), C(istio_namespace), C(revision) and the keys of O(sidecar) (a role
        passes its variable names); by default the options' own, e.g. C(sidecar.namespaces).
    type: dict
    default: {}
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
  - PyYAML
"""

EXAMPLES = r"""
- name: Refuse every host not registered in the mesh
  meshops.istio_egress.outbound_policy:
    mode: REGISTRY_ONLY
    owner: cluster-eu1
"""

RETURN = r"""
msg:
  description: What was set, or would be, in one sentence.
  returned: success
  type: str
differs:
  description: Whether the mesh config's mode differs from O(mode) (O(target=meshconfig)).
  returned: with target meshconfig
  type: bool
previous_mode:
  description: The mode the mesh config had (none when unset, which Istio reads as ALLOW_ANY).
  returned: with target meshconfig
  type: str
configmap:
  description: The mesh ConfigMap, as C(ConfigMap <namespace>/<name>).
  returned: with target meshconfig
  type: str
sidecars:
  description: How many Sidecars are declared (O(target=sidecar)).
  returned: with target sidecar
  type: int
created:
  description: Sidecars created, as C(Kind/namespace/name) (O(target=sidecar), O(state=present)).
  returned: with target sidecar and state present
  type: list
  elements: str
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, auth_argspec
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import PlanError
from ansible_collections.meshops.istio_egress.plugins.module_utils._outbound_policy import PolicyError, module_result


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = auth_argspec()
    argument_spec.update(
        target=dict(type="str", default="meshconfig", choices=["meshconfig", "sidecar"]),
        mode=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "check"]),
        istio_namespace=dict(type="str", default="istio-system"),
        revision=dict(type="str", default=""),
        owner=dict(type="str", required=True),
        sidecar=dict(type="dict", default={}),
        variable_names=dict(type="dict", default={}),
    )
    return ModuleSpec(argument_spec, module_result, errors=(PolicyError, ApiError, PlanError, ValueError))


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
