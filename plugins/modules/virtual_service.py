#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: virtual_service
short_description: Merge one owner's routes into shared Istio VirtualServices
version_added: 0.1.0
author:
  - meshops engineers (@meshops)
description:
  - Istio does not merge several VirtualServices for one host on the C(mesh) gateway, so all routes for
    an external host must live in one object, which application teams and several owner sets may share.
    This module adds, replaces and removes exactly the routes of one O(owner) in that object and leaves
    every other route as it is, in its order. M(kubernetes.core.k8s) would replace the route lists whole.
  - HTTP routes are identified by their C(name) (required for the routes given here); TLS and TCP routes,
    which have no name, by their match (gateways, port, sniHosts, destinationSubnets, source labels and
    namespace; the order of list entries does not matter).
  - The annotation C(egress.meshops.io/routes) records, per owner, the routes it manages and the
    C(hosts), C(gateways) and C(exportTo) entries it added, so a route dropped from the input is removed
    from the object, and a release never takes away what was there before.
  - New routes go before the first catch-all route (one without match conditions), which would otherwise
    shadow them, and before the next of our routes that follows it in the input; existing routes keep
    their place. C(hosts), C(gateways) and C(exportTo) are unioned
    without duplicates. An object carrying others' routes is never narrowed; without C(gateways) it is
    given an explicit C(mesh) before ours are added, and without C(exportTo) it stays exported everywhere.
  - Several owners may declare an identical route; it stays until its last owner lets go. A route of ours
    whose identity is taken by a route not recorded for us, or recorded for another owner with different
    content, is refused with an error and nothing is written.
  - A missing object is created with the labels C(app.kubernetes.io/managed-by=meshops.istio_egress) and
    C(egress.meshops.io/owner=<owner>). An object without the managed-by label (a team's own) is merged
    into but never labelled nor deleted. With O(state=absent) an object is deleted only when no route is
    left in it and it carries the managed-by label.
  - Writes carry the resourceVersion the merge was computed from; when another writer changed the object
    meanwhile (409 Conflict) it is read again and merged again, up to O(conflict_retries) times, so
    concurrent runs lose no routes. Nothing is written when the merged object equals the live one
    (key order, integer or string ports and server-filled fields are no difference).
  - Input is validated before any request, all errors at once, each naming the route index and field;
    unknown keys in routes and matches are reported with the closest Istio field name. Writes use strict
    field validation, so the cluster's Istio schema checks the rest.
  - Batch mode (O(virtual_services)) converges many VirtualServices with one LIST per namespace, writing
    only those that change; with O(prune) it also removes this owner's routes from the VirtualServices in
    O(namespace) that are not listed.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio_egress.k8s_request
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written; each would-be write is sent as a server-side dry run, so invalid routes fail in check mode too.
  diff_mode:
    support: full
    details: Before and after of each VirtualService, without server-filled fields.
  platform:
    platforms: kubernetes
  idempotent:
    description: Rerunning with the same input changes nothing and reports no change.
    support: full
options:
  name:
    description:
      - Name of the VirtualService. Mutually exclusive with O(virtual_services).
    type: str
  namespace:
    description:
      - Namespace of the VirtualService.
      - In batch mode, the namespace of items that do not give one, and the namespace O(prune) searches.
    type: str
  hosts:
    description:
      - Hosts of the VirtualService; required with O(state=present). Unioned with the hosts already there.
    type: list
    elements: str
  gateways:
    description:
      - Gateways the routes apply to (C(mesh) for sidecars). Unioned with the gateways already there.
    type: list
    elements: str
  export_to:
    description:
      - Namespaces the VirtualService is exported to. Unioned with the entries already there.
    type: list
    elements: str
  http:
    description:
      - HTTP routes of this owner, as Istio C(HTTPRoute) dicts; each needs a unique C(name).
    type: list
    elements: dict
  tls:
    description:
      - TLS routes of this owner, as Istio C(TLSRoute) dicts (C(match) with C(sniHosts) is required).
    type: list
    elements: dict
  tcp:
    description:
      - TCP routes of this owner, as Istio C(TCPRoute) dicts.
    type: list
    elements: dict
  owner:
    description:
      - The ownership set these routes belong to. The collection's roles pass C(istio_egress_owner).
    type: str
    default: default
  state:
    description:
      - V(present) merges the routes in; V(absent) removes all routes of O(owner) (the route options are ignored).
    type: str
    choices: [present, absent]
    default: present
  conflict_retries:
    description:
      - How often to re-read and re-merge after a write lost a race with another writer (409 Conflict).
    type: int
    default: 5
  api_version:
    description:
      - API version of VirtualService; C(networking.istio.io/v1beta1) is used when the cluster does not serve V(networking.istio.io/v1).
    type: str
    default: networking.istio.io/v1
  virtual_services:
    description:
      - Batch mode, instead of O(name) and the route options; all items share O(owner), O(state) and the connection.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the VirtualService.
        type: str
        required: true
      namespace:
        description: Its namespace; defaults to O(namespace).
        type: str
      hosts:
        description: As O(hosts).
        type: list
        elements: str
      gateways:
        description: As O(gateways).
        type: list
        elements: str
      export_to:
        description: As O(export_to).
        type: list
        elements: str
        aliases: [exportTo]
      http:
        description: As O(http).
        type: list
        elements: dict
      tls:
        description: As O(tls).
        type: list
        elements: dict
      tcp:
        description: As O(tcp).
        type: list
        elements: dict
  prune:
    description:
      - Batch mode only. Remove this owner's routes (as O(state=absent) does) from every VirtualService in
        O(namespace) whose annotation lists O(owner) but that is not in O(virtual_services).
    type: bool
    default: false
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
seealso:
  - name: Istio VirtualService reference
    description: The route, match and destination fields.
    link: https://istio.io/latest/docs/reference/config/networking/virtual-service/
"""

EXAMPLES = r"""
- name: Route httpbin.org from the sidecars to the egress gateway and from there out
  meshops.istio_egress.virtual_service:
    name: httpbin-org
    namespace: istio-system
    owner: cluster-eu1
    hosts: [httpbin.org]
    gateways: [mesh, istio-egressgateway]
    http:
      - name: httpbin-org-mesh-80
        match: [{gateways: [mesh], port: 80}]
        route:
          - destination:
              host: istio-egressgateway.istio-system.svc.cluster.local
              subset: httpbin-org
              port: {number: 80}
      - name: httpbin-org-gateway-80
        match: [{gateways: [istio-egressgateway], port: 80}]
        route:
          - destination: {host: httpbin.org, port: {number: 80}}

- name: Pass TLS for edition.cnn.com through (TLS routes are identified by their match)
  meshops.istio_egress.virtual_service:
    name: edition-cnn-com
    namespace: istio-system
    owner: cluster-eu1
    hosts: [edition.cnn.com]
    gateways: [mesh]
    tls:
      - match: [{gateways: [mesh], port: 443, sniHosts: [edition.cnn.com]}]
        route:
          - destination: {host: edition.cnn.com, port: {number: 443}}

- name: Take this owner's routes out again (the object goes only if nothing else is left)
  meshops.istio_egress.virtual_service:
    name: httpbin-org
    namespace: istio-system
    owner: cluster-eu1
    state: absent

- name: Converge many VirtualServices with one LIST, releasing routes this owner no longer declares
  meshops.istio_egress.virtual_service:
    namespace: istio-system
    owner: cluster-eu1
    prune: true
    virtual_services:
      - name: api-example-com
        hosts: [api.example.com]
        gateways: [mesh]
        tls:
          - match: [{gateways: [mesh], port: 443, sniHosts: [api.example.com]}]
            route: [{destination: {host: api.example.com, port: {number: 443}}}]
  register: routes  # routes.counts: {create: 1, update: 0, delete: 0, none: 0}
"""

RETURN = r"""
changed:
  description: Whether a VirtualService was created, updated or deleted (in check mode, would be).
  returned: always
  type: bool
operation:
  description: What was done to the VirtualService.
  returned: single mode
  type: str
  choices: [create, update, delete, none]
result:
  description: The VirtualService as written (in check mode, as it would be); null when deleted or absent.
  returned: single mode
  type: dict
routes_added:
  description:
    - Identities of the routes this owner newly manages (including joining an identical route of another owner),
      as C(http:<name>), C(tls:<gateways>:<port>:<sniHosts>) or C(tcp:<gateways>:<port>).
    - "In batch mode each is prefixed with C(<namespace>/<name>: )."
  returned: always
  type: list
  elements: str
  sample: ["http:httpbin-org-mesh-80", "tls:mesh:443:edition.cnn.com"]
routes_updated:
  description: Identities of this owner's routes whose content changed.
  returned: always
  type: list
  elements: str
routes_removed:
  description: Identities of the routes this owner no longer manages (a co-owned route stays in the object).
  returned: always
  type: list
  elements: str
api_version:
  description: The API version the cluster served VirtualService in.
  returned: always
  type: str
  sample: networking.istio.io/v1
results:
  description: Batch mode, per VirtualService (listed ones, then pruned ones).
  returned: batch mode
  type: list
  elements: dict
  contains:
    name: {description: Name., type: str, returned: always}
    namespace: {description: Namespace., type: str, returned: always}
    operation: {description: "V(create), V(update), V(delete) or V(none).", type: str, returned: always}
    changed: {description: Whether it changed., type: bool, returned: always}
    routes_added: {description: "As above, without the prefix.", type: list, elements: str, returned: always}
    routes_updated: {description: "As above, without the prefix.", type: list, elements: str, returned: always}
    routes_removed: {description: "As above, without the prefix.", type: list, elements: str, returned: always}
counts:
  description: Batch mode, how many VirtualServices were created, updated, deleted and left alone.
  returned: batch mode
  type: dict
  sample: {create: 1, update: 2, delete: 0, none: 997}
diff:
  description: Before and after, without server-filled fields; a list of them in batch mode.
  returned: in diff mode
  type: raw
"""

from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import ApiError, auth_argspec
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, run_module
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_apply import run
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import MergeError

_SINGLE = ("name", "hosts", "gateways", "export_to", "http", "tls", "tcp")


def _routes():
    return dict(type="list", elements="dict")


def _strings():
    return dict(type="list", elements="str")


def spec():
    """The options and the one call (shared with the action plugin that may run it in-process)."""
    argument_spec = auth_argspec()
    argument_spec.update(
        name=dict(type="str"),
        namespace=dict(type="str"),
        hosts=_strings(),
        gateways=_strings(),
        export_to=_strings(),
        http=_routes(),
        tls=_routes(),
        tcp=_routes(),
        owner=dict(type="str", default="default"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        conflict_retries=dict(type="int", default=5),
        api_version=dict(type="str", default="networking.istio.io/v1"),
        virtual_services=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                namespace=dict(type="str"),
                hosts=_strings(),
                gateways=_strings(),
                export_to=dict(type="list", elements="str", aliases=["exportTo"]),
                http=_routes(),
                tls=_routes(),
                tcp=_routes(),
            ),
        ),
        prune=dict(type="bool", default=False),
    )
    return ModuleSpec(argument_spec, run, errors=(ApiError, MergeError),
                      mutually_exclusive=[("virtual_services", option) for option in _SINGLE],
                      required_one_of=[("name", "virtual_services")])


def main():
    run_module(spec())


if __name__ == "__main__":
    main()
