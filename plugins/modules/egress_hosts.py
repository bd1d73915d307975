#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: egress_hosts
short_description: Route a list of external hosts through the Istio egress gateway, in one pass
version_added: 0.1.0
author:
  - meshops engineers (@meshops)
description:
  - Validates the whole host list (every error at once, before any request), renders the Istio objects of every
    host in one pass, then converges the cluster or, with O(render_dir), writes one YAML file per object.
  - Owned objects (ServiceEntries, the shared Gateway and DestinationRule, and whatever else the settings ask for)
    are converged as M(meshops.istio_egress.object_set) does; VirtualService routes are merged as
    M(meshops.istio_egress.virtual_service) does in batch mode, with the same code. A no-op costs one LIST per
    kind and no write, whatever the number of hosts.
  - The owned objects are an ApplySet (KEP-3659, what C(kubectl apply --prune --applyset) reads). Its parent, ConfigMap
    C(meshops-egress-hosts-<owner>) in the objects' namespace, records the kinds and namespaces of its members, and each
    member carries the C(applyset.kubernetes.io/part-of) label. A prune lists only the kinds and namespaces the parent
    records and those declared now, so no run needs a right across all namespaces.
  - O(prune_scope) is searched only while the set has no parent yet; its entries without a namespace (a LIST across all
    namespaces) only when the set has members made before ApplySets, which this run adopts. Without the right for that
    LIST the run warns and leaves such members outside the namespaces declared now.
  - This is the module behind the C(meshops.istio_egress.external_services) role; see that role for the host item format.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio_egress.k8s_request
  - meshops.istio_egress.prune_scope
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written; would-be writes are sent as server-side dry runs.
  diff_mode:
    support: full
  platform:
    platforms: kubernetes
  idempotent:
    description: Running twice with the same input changes nothing the second time.
    support: full
options:
  hosts:
    description: The external hosts, in the format of the role's C(external_services_hosts).
    type: list
    elements: dict
    required: true
  owner:
    description: The ownership set; pruning only ever touches objects and routes of this set.
    type: str
    required: true
  settings:
    description:
      - Rendering settings, as for the P(meshops.istio_egress.render_egress#filter) filter (C(namespace), C(api_version),
        C(gateway_namespace), C(gateway_service), C(gateway_selector), C(cluster_domain), ...). Unknown keys are an error.
    type: dict
    default: {}
  prune:
    description: Delete this owner's objects and routes that are no longer declared (or, with O(render_dir), its files).
    type: bool
    default: true
  allow_empty_prune:
    description:
      - With O(hosts) empty and O(prune) on, the module refuses to prune this owner's objects and routes from the
        cluster, and fails saying how many objects of which kinds would go, with nothing changed (in check mode too).
        An empty list is more often a mistake than a wish to remove every host. V(true) lets it prune them all.
      - An empty list with nothing of this owner on the cluster is no error.
    type: bool
    default: false
  variable_names:
    description:
      - What the errors call O(hosts), O(prune) and O(allow_empty_prune) (keys C(hosts), C(prune), C(allow_empty_prune)) and
        each key of O(settings) (key C(settings), a mapping from setting to name). A role passes the names of its variables.
        Unset keys keep the option names and the settings' keys.
    type: dict
    default: {}
  render_dir:
    description: Write the objects as YAML files into this directory instead of changing a cluster.
    type: path
  conflict_retries:
    description: How often a VirtualService write that lost a race (409 Conflict) is re-read, re-merged and retried.
    type: int
    default: 5
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
  - PyYAML
"""

EXAMPLES = r"""
- name: Route two hosts through the egress gateway
  meshops.istio_egress.egress_hosts:
    owner: cluster-eu1
    hosts:
      - host: httpbin.org
      - host: api.github.com
        ports: [{number: 443, protocol: TLS}]
    prune_scope:
      - {api_version: networking.istio.io/v1, kind: ServiceEntry, namespace: istio-system}
      - {api_version: networking.istio.io/v1, kind: Gateway, namespace: istio-system}
      - {api_version: networking.istio.io/v1, kind: DestinationRule, namespace: istio-system}

- name: Render the same objects as files, with no cluster
  meshops.istio_egress.egress_hosts:
    owner: cluster-eu1
    hosts: [{host: httpbin.org}]
    render_dir: /tmp/render/cluster-eu1
"""

RETURN = r"""
summary:
  description:
    - What was declared (hosts, objects by kind) and what happened, in a few numbers (owned objects created,
      updated, unchanged and pruned, VirtualServices by outcome; in render mode the files written and removed).
  returned: always
  type: dict
  sample:
    hosts: 3
    via_gateway: 3
    direct: 0
    objects: {ServiceEntry: 3, Gateway: 1, DestinationRule: 1, VirtualService: 3}
    created: 0
    updated: 1
    unchanged: 4
    pruned: 0
    virtual_services: {create: 0, update: 1, delete: 0, none: 2}
objects:
  description: The owned objects created, updated and deleted (as C(Kind/namespace/name)), how many were unchanged, and the API version used per kind.
  returned: when changing a cluster
  type: dict
virtual_services:
  description: VirtualServices by what happened to them (C(create), C(update), C(delete), C(none)).
  returned: when changing a cluster
  type: dict
  sample: {create: 0, update: 1, delete: 0, none: 2}
routes_added:
  description: Routes of this owner added, as C(namespace/name) and the route's identity.
  returned: when changing a cluster
  type: list
  elements: str
routes_updated:
  description: Routes of this owner changed.
  returned: when changing a cluster
  type: list
  elements: str
routes_removed:
  description: Routes of this owner removed.
  returned: when changing a cluster
  type: list
  elements: str
empty_prune_refused:
  description: When an empty O(hosts) was refused (see O(allow_empty_prune)), the owner and what would have been pruned.
  returned: on that failure
  type: dict
  sample: {owner: cluster-eu1, total: 8, kinds: {DestinationRule: 1, Gateway: 1, ServiceEntry: 3, VirtualService: 3}}
files:
  description: In render mode, the directory and the files written, removed and unchanged.
  returned: with render_dir
  type: dict
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._egress_converge import InputError, converge
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, auth_argspec, prune_scope_argspec
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import PlanError
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import MergeError


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = auth_argspec()
    argument_spec.update(
        hosts=dict(type="list", elements="dict", required=True),
        owner=dict(type="str", required=True),
        settings=dict(type="dict", default={}),
        prune=dict(type="bool", default=True),
        allow_empty_prune=dict(type="bool", default=False),
        variable_names=dict(type="dict", default={}),
        prune_scope=prune_scope_argspec(),
        render_dir=dict(type="path"),
        conflict_retries=dict(type="int", default=5),
    )
    return ModuleSpec(argument_spec, converge, errors=(InputError, ApiError, PlanError, MergeError, OSError, ValueError))


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
