# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Per-namespace outbound policy: one namespace-wide ``Sidecar`` per namespace.

The Sidecar sets ``outboundTrafficPolicy.mode`` for the namespace's workloads
and limits what they see (``egress[0].hosts``) to their own namespace, the
control plane, the egress gateway and the declared external hosts, which is
what REGISTRY_ONLY needs to be useful and keeps each proxy's config small.

Istio allows one Sidecar without ``workloadSelector`` per namespace; with two
the choice is undefined, so ``conflicts`` finds any such Sidecar that is not
ours before we add ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._meshconfig import MeshConfigError, check_mode
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import host_error, is_dns1123_label, is_dns1123_subdomain, name_errors
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import is_owned_by

API_VERSION = "networking.istio.io/v1"
API_VERSIONS = (API_VERSION, "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")
KIND = "Sidecar"


def _host_name(item):
    # external_services_hosts items are dicts; plain names are accepted too.
    return item.get("host") if isinstance(item, dict) else item


def egress_hosts(istio_namespace, gateway_namespace, hosts=None, hosts_namespace=None):
    """``egress[0].hosts``: own namespace, control plane, gateway, then each
    external host as ``<hosts_namespace>/<host>`` (``*/<host>`` when the
    namespace of the ServiceEntries is not known), skipping hosts that a
    ``<namespace>/*`` entry already imports."""
    entries = ["./*"]
    for namespace in (istio_namespace, gateway_namespace):
        entry = "{0}/*".format(namespace)
        if entry not in entries:
            entries.append(entry)
    prefix = hosts_namespace or "*"
    if "{0}/*".format(prefix) in entries:
        return entries
    for name in sorted(set(_host_name(item) for item in hosts or [])):
        entries.append("{0}/{1}".format(prefix, name))
    return entries


def validate(settings, names=None):
    """Every error in the Sidecar settings, as strings, each led by the
    setting's key or by what ``names`` calls it (a role's variable)."""
    errors = []
    try:
        check_mode(settings.get("mode"), "mode")
    except MeshConfigError as exc:
        errors.append(str(exc))
    namespaces = settings.get("namespaces")
    if not isinstance(namespaces, list):
        errors.append("namespaces: must be a list of namespaces, got {0!r}".format(namespaces))
    else:
        for index, namespace in enumerate(namespaces):
            if not is_dns1123_label(namespace):
                errors.append("namespaces[{0}]: {1!r} is not a valid namespace name".format(index, namespace))
    if not is_dns1123_subdomain(settings.get("name")):
        errors.append("name: {0!r} is not a valid object name".format(settings.get("name")))
    for key in ("istio_namespace", "gateway_namespace"):
        if not is_dns1123_label(settings.get(key)):
            errors.append("{0}: {1!r} is not a valid namespace name".format(key, settings.get(key)))
    hosts_namespace = settings.get("hosts_namespace")
    if settings.get("api_version", API_VERSION) not in API_VERSIONS:
        errors.append("api_version: must be one of {0}, got {1!r}".format(", ".join(API_VERSIONS), settings.get("api_version")))
    if hosts_namespace and not is_dns1123_label(hosts_namespace):
        errors.append("hosts_namespace: {0!r} is not a valid namespace name".format(hosts_namespace))
    for index, item in enumerate(settings.get("hosts") or []):
        error = host_error(_host_name(item))
        if error:
            errors.append("hosts[{0}]: {1}".format(index, error))
    return name_errors(errors, names)


def definitions(settings):
    """One Sidecar per namespace. ``settings``: namespaces, mode, name,
    istio_namespace, gateway_namespace, hosts, hosts_namespace, api_version. Raises
    ValueError listing every error."""
    errors = validate(settings)
    if errors:
        raise ValueError("invalid outbound policy settings:\n" + "\n".join(errors))
    hosts = egress_hosts(settings["istio_namespace"], settings["gateway_namespace"],
                         settings.get("hosts"), settings.get("hosts_namespace"))
    result = []
    for namespace in sorted(set(settings["namespaces"])):
        result.append({
            "apiVersion": settings.get("api_version") or API_VERSION,
            "kind": KIND,
            "metadata": {"name": settings["name"], "namespace": namespace},
            "spec": {
                "egress": [{"hosts": list(hosts)}],
                "outboundTrafficPolicy": {"mode": settings["mode"]},
            },
        })
    return result


def conflicts(live_sidecars, name, owner):
    """``namespace/name`` of the live Sidecars ours would clash with: any not
    of this owner that is namespace-wide (no workloadSelector) or has our name."""
    found = []
    for obj in live_sidecars or []:
        if is_owned_by(obj, owner):
            continue
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        if not spec.get("workloadSelector") or metadata.get("name") == name:
            found.append("{0}/{1}".format(metadata.get("namespace"), metadata.get("name")))
    return sorted(found)
