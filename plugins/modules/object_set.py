#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: object_set
short_description: Converge a set of owned Kubernetes objects in one pass
version_added: 0.1.0
author:
  - meshops engineers (@meshops)
description:
  - Creates, updates and (with O(prune)) deletes the objects of one ownership set, with one
    label-selected LIST per kind and namespace and a write only for objects that differ.
  - Every object written carries the labels C(app.kubernetes.io/managed-by=meshops.istio_egress) and
    C(egress.meshops.io/owner=<owner>). Objects without both labels are never modified or deleted;
    creating an object whose name is taken by an object that is not ours fails.
  - An object is rewritten when the configuration last applied differs (recorded as a hash in the
    annotation C(egress.meshops.io/config-hash)) or when a field we set has drifted; fields the server
    fills in are not drift.
  - For C(networking.istio.io/v1) and C(security.istio.io/v1) kinds the module asks discovery and
    falls back to C(v1beta1) on clusters whose Istio does not serve C(v1).
  - Writes use strict field validation, so a field the cluster's schema does not know is an error.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio_egress.k8s_request
  - meshops.istio_egress.prune_scope
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written; every would-be write is sent as a server-side dry run, so invalid objects fail in check mode too.
  diff_mode:
    support: full
  platform:
    platforms: kubernetes
  idempotent:
    description: Running twice with the same input changes nothing the second time.
    support: full
options:
  definitions:
    description:
      - Full object definitions (C(apiVersion), C(kind), C(metadata.name), C(metadata.namespace) for namespaced kinds).
    type: list
    elements: dict
    required: true
  owner:
    description:
      - The ownership set the objects belong to; the collection's roles pass C(istio_egress_owner).
    type: str
    required: true
  prune:
    description:
      - Delete objects of this owner, in the kinds and namespaces listed or in O(prune_scope), that are not in O(definitions).
    type: bool
    default: false
  applyset:
    description:
      - Make the objects an ApplySet (KEP-3659, what C(kubectl apply --prune --applyset) reads) - a parent ConfigMap
        C(meshops-egress-<name>-<owner>) in O(applyset.namespace) records the group-kinds and namespaces of the set, each member
        carries the label C(applyset.kubernetes.io/part-of), and a prune lists only where the parent says the set lives.
      - A set without a parent yet is searched in O(prune_scope) once, and its objects adopted.
    type: dict
    suboptions:
      name:
        description: The set's name in the parent's name, for example V(gateway).
        type: str
        required: true
      namespace:
        description: The namespace of the parent ConfigMap (one the set's objects live in).
        type: str
        required: true
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Register httpbin.org in the mesh, pruning what this set no longer declares
  meshops.istio_egress.object_set:
    owner: cluster-eu1
    prune: true
    prune_scope:
      - {api_version: networking.istio.io/v1, kind: ServiceEntry, namespace: istio-system}
    definitions:
      - apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: httpbin-org
          namespace: istio-system
        spec:
          hosts: [httpbin.org]
          ports: [{number: 80, name: http-80, protocol: HTTP}]
          resolution: DNS
          location: MESH_EXTERNAL
"""

RETURN = r"""
changed:
  description: Whether any object was created, updated or deleted.
  returned: always
  type: bool
created:
  description: Objects created, as C(Kind/namespace/name).
  returned: always
  type: list
  elements: str
  sample: [ServiceEntry/istio-system/httpbin-org-5c1d2e3f]
updated:
  description: Objects updated, as C(Kind/namespace/name).
  returned: always
  type: list
  elements: str
deleted:
  description: Objects of this owner deleted by pruning, as C(Kind/namespace/name).
  returned: always
  type: list
  elements: str
unchanged:
  description: How many declared objects already matched.
  returned: always
  type: int
api_versions:
  description: The API version used for each kind, as discovery answered.
  returned: always
  type: dict
  sample: {ServiceEntry: networking.istio.io/v1}
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, auth_argspec, prune_scope_argspec
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_apply import module_result
from ansible_collections.meshops.istio_egress.plugins.module_utils._object_plan import PlanError


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = auth_argspec()
    argument_spec.update(
        definitions=dict(type="list", elements="dict", required=True),
        owner=dict(type="str", required=True),
        prune=dict(type="bool", default=False),
        prune_scope=prune_scope_argspec(),
        applyset=dict(type="dict", options=dict(name=dict(type="str", required=True), namespace=dict(type="str", required=True))),
    )
    return ModuleSpec(argument_spec, module_result, errors=(ApiError, PlanError))


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
