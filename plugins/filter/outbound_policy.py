# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the outbound_policy role; the logic is in module_utils/_meshconfig.py and _sidecar.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.istio_egress.plugins.module_utils import _meshconfig as meshconfig, _sidecar as sidecar


def mesh_outbound_policy(mesh_yaml, mode, source="mesh config"):
    if meshconfig.yaml is None:
        raise AnsibleFilterError("the PyYAML Python library is required on the controller")
    # Ansible hands filters str subclasses (tagged values), which PyYAML's safe dumper refuses.
    mode = str(mode) if isinstance(mode, str) else mode
    try:
        return meshconfig.edit(mesh_yaml, mode, str(source))
    except meshconfig.MeshConfigError as exc:
        raise AnsibleFilterError(str(exc))


def _plain(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("outbound policy settings must be a dict, got {0}".format(type(settings).__name__))
    return dict(settings)


def outbound_policy_errors(settings, names=None):
    return sidecar.validate(_plain(settings), dict(names or {}))


def outbound_policy_sidecars(settings):
    try:
        return sidecar.definitions(_plain(settings))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def outbound_policy_sidecar_conflicts(live_sidecars, name, owner):
    return sidecar.conflicts(live_sidecars, name, owner)


class FilterModule(object):
    def filters(self):
        return {
            "mesh_outbound_policy": mesh_outbound_policy,
            "outbound_policy_errors": outbound_policy_errors,
            "outbound_policy_sidecars": outbound_policy_sidecars,
            "outbound_policy_sidecar_conflicts": outbound_policy_sidecar_conflicts,
        }
