# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Edit ``outboundTrafficPolicy.mode`` in Istio's mesh config (the ``mesh``
key of the ``istio`` ConfigMap) and nothing else.

When the mode is already right the input string comes back unchanged, so the
caller can compare and skip the write. Otherwise the YAML is re-serialised
with every other setting kept in its order; comments, which istiod ignores,
are not kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import yaml
except ImportError:  # the filter reports it
    yaml = None

# meshconfig's OutboundTrafficPolicy.Mode and the Sidecar CRD's enum agree.
MODES = ("REGISTRY_ONLY", "ALLOW_ANY")


class MeshConfigError(ValueError):
    pass


def check_mode(mode, where="mode"):
    if mode not in MODES:
        raise MeshConfigError("{0}: Istio accepts only {1}, got {2!r}".format(where, " or ".join(MODES), mode))
    return mode


def parse(mesh_yaml, source):
    """The mesh config as a dict (empty for an empty or missing value)."""
    if mesh_yaml is None or not str(mesh_yaml).strip():
        return {}
    try:
        mesh = yaml.safe_load(str(mesh_yaml))
    except yaml.YAMLError as exc:
        raise MeshConfigError("{0}: the 'mesh' value is not valid YAML, nothing was changed: {1}".format(source, exc))
    if mesh is None:
        return {}
    if not isinstance(mesh, dict):
        raise MeshConfigError("{0}: the 'mesh' value must be a YAML mapping, got {1}; nothing was changed".format(
            source, type(mesh).__name__))
    return mesh


def current_mode(mesh):
    policy = mesh.get("outboundTrafficPolicy")
    return policy.get("mode") if isinstance(policy, dict) else None


def edit(mesh_yaml, mode, source="mesh config"):
    """``{mesh, differs, previous_mode}``; ``source`` names the ConfigMap in errors."""
    check_mode(mode)
    mesh = parse(mesh_yaml, source)
    previous = current_mode(mesh)
    if previous == mode:
        return {"mesh": mesh_yaml, "differs": False, "previous_mode": previous}
    policy = mesh.get("outboundTrafficPolicy")
    # Keep the policy's other fields (egressProxy) when there are any.
    policy = dict(policy) if isinstance(policy, dict) else {}
    policy["mode"] = mode
    mesh["outboundTrafficPolicy"] = policy
    text = yaml.safe_dump(mesh, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 16)
    return {"mesh": text, "differs": True, "previous_mode": previous}


def set_outbound_policy(mesh_yaml, mode, source="mesh config"):
    """Return ``(new_yaml, changed)``; ``new_yaml is mesh_yaml`` when unchanged."""
    result = edit(mesh_yaml, mode, source)
    return result["mesh"], result["differs"]
