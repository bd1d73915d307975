# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VirtualService objects a set of route inputs creates on an empty
cluster: what render mode writes. The same merge code as the module, so the
files show exactly what the module would create, annotation included."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_merge import DEFAULT_API_VERSION, desired_from_options, merge
from ansible_collections.meshops.istio_egress.plugins.module_utils._vs_routes import MergeError


def virtual_service_objects(virtual_services, owner, api_version=DEFAULT_API_VERSION):
    try:
        return [merge(None, desired_from_options(item), owner, api_version=api_version).obj for item in virtual_services]
    except MergeError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"virtual_service_objects": virtual_service_objects}
