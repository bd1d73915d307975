#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: manifest_dir
short_description: Write Kubernetes objects as one YAML file each into a directory
version_added: 0.1.0
author:
  - meshops engineers (@meshops)
description:
  - Render mode of the collection. Writes each object to C(<namespace>_<kind>_<name>.yaml) in O(path),
    rewriting only files whose content changed.
  - With O(prune), removes files this module wrote earlier (they start with a marker comment) for objects
    no longer given. Files without the marker are never touched.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  idempotent:
    description: Running twice with the same input changes nothing the second time.
    support: full
options:
  path:
    description: The directory; created when missing.
    type: path
    required: true
  objects:
    description: The objects to write.
    type: list
    elements: dict
    required: true
  prune:
    description: Remove files of ours for objects no longer given.
    type: bool
    default: true
requirements:
  - PyYAML
"""

EXAMPLES = r"""
- name: Write the rendered Istio objects for review
  meshops.istio_egress.manifest_dir:
    path: /tmp/render/cluster-eu1
    objects: "{{ rendered.objects }}"
"""

RETURN = r"""
path:
  description: The directory written.
  returned: always
  type: str
written:
  description: Files created or rewritten.
  returned: always
  type: list
  elements: str
removed:
  description: Files removed because their object is no longer declared.
  returned: always
  type: list
  elements: str
unchanged:
  description: Files already up to date.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.meshops.istio_egress.plugins.module_utils import _manifests as manifests


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            objects=dict(type="list", elements="dict", required=True),
            prune=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if manifests.yaml is None:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    try:
        result = manifests.sync_directory(module.params["path"], module.params["objects"], module.params["prune"], module.check_mode)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot write manifests to {0}: {1}".format(module.params["path"], exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
