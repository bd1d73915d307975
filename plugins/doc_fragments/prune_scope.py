# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The prune_scope option of the modules that converge an owner's set of objects.
    DOCUMENTATION = r"""
options:
  prune_scope:
    description:
    - Kinds and namespaces to search for this owner's stale objects, besides the kinds of the objects declared
      (a kind the declaration no longer contains is found only through this list).
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the kind.
        type: str
        required: true
      kind:
        description: The kind.
        type: str
        required: true
      namespace:
        description: Namespace to search; ignored for cluster-scoped kinds.
        type: str
"""
