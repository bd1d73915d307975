# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render normalised external hosts into the objects of Istio's egress
gateway task (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).

Per host: a ServiceEntry. Shared by the hosts that go through the gateway, per
owner: one Gateway (a server per port/protocol listing those hosts) and one
DestinationRule for the egress gateway service (the subset the mesh routes
name). Per via-gateway host: the routes of its VirtualService, returned as the
input of the VirtualService merge module, since that object is shared and
merged into the live one rather than owned.

Everything here is a pure function of its arguments; output is sorted so that
the same input always renders the same objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible_collections.meshops.istio_egress.plugins.module_utils.hosts import (
    HTTP_PROTOCOLS, TLS_PROTOCOLS, gateway_protocol,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils.naming import (
    EGRESS_SUBSET, destination_rule_name, gateway_name, is_dns1035_label, is_dns1123_label,
    is_dns1123_subdomain, is_label_key, is_label_value, port_name, route_name,
    service_entry_name, virtual_service_name,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils.ownership import owner_labels

API_VERSIONS = ("networking.istio.io/v1", "networking.istio.io/v1beta1",
                "networking.istio.io/v1alpha3")
DEFAULT_SETTINGS = {
    "owner": None,
    "namespace": "istio-system",
    "api_version": API_VERSIONS[0],
    "gateway_namespace": "istio-system",
    "gateway_service": "istio-egressgateway",
    "gateway_selector": {"istio": "egressgateway"},
    "cluster_domain": "cluster.local",
}
MESH = "mesh"
KINDS = ("ServiceEntry", "Gateway", "DestinationRule", "VirtualService")


def resolve_settings(settings):
    """``settings`` over the defaults; None means "use the default"."""
    resolved = dict(DEFAULT_SETTINGS)
    resolved.update((k, v) for k, v in (settings or {}).items() if v is not None)
    return resolved


def validate_settings(settings):
    """Every error in the (resolved) rendering settings, as strings."""
    if not isinstance(settings, dict):
        return ["settings: must be a dict, got {0}".format(type(settings).__name__)]
    errors = []
    for key in settings:
        if key not in DEFAULT_SETTINGS:
            close = difflib.get_close_matches(str(key), list(DEFAULT_SETTINGS), n=1)
            errors.append("{0}: unknown setting; known: {1}{2}".format(
                key, ", ".join(sorted(DEFAULT_SETTINGS)),
                "; did you mean '{0}'?".format(close[0]) if close else ""))
    owner = settings.get("owner")
    if not owner or not is_label_value(owner):
        errors.append("owner: {0!r} is not a valid ownership set name (a label value: 1-63 chars "
                      "of A-Z, a-z, 0-9, '-', '_', '.', starting and ending alphanumeric)".format(owner))
    for key in ("namespace", "gateway_namespace"):
        if not is_dns1123_label(settings.get(key)):
            errors.append("{0}: {1!r} is not a valid namespace name (DNS-1123 label: 1-63 chars of "
                          "a-z, 0-9 and '-', starting and ending alphanumeric)".format(key, settings.get(key)))
    if not is_dns1035_label(settings.get("gateway_service")):
        errors.append("gateway_service: {0!r} is not a valid Service name (DNS-1035 label: "
                      "1-63 chars of a-z, 0-9 and '-', starting with a letter)".format(settings.get("gateway_service")))
    if not is_dns1123_subdomain(settings.get("cluster_domain")):
        errors.append("cluster_domain: {0!r} is not a valid DNS name".format(settings.get("cluster_domain")))
    if settings.get("api_version") not in API_VERSIONS:
        errors.append("api_version: must be one of {0}, got {1!r}".format(
            ", ".join(API_VERSIONS), settings.get("api_version")))
    selector = settings.get("gateway_selector")
    if not isinstance(selector, dict) or not selector:
        errors.append("gateway_selector: must be a non-empty dict of pod labels, got {0!r}".format(selector))
    else:
        for key, value in selector.items():
            if not is_label_key(key) or not is_label_value(value):
                errors.append("gateway_selector: {0!r}: {1!r} is not a valid label".format(key, value))
    return errors


def gateway_fqdn(settings):
    return "{0}.{1}.svc.{2}".format(
        settings["gateway_service"], settings["gateway_namespace"], settings["cluster_domain"])


def _object(kind, name, settings, spec):
    # Fresh label dicts per object: a YAML dumper would turn shared ones into anchors.
    return {
        "apiVersion": settings["api_version"],
        "kind": kind,
        "metadata": {"name": name, "namespace": settings["namespace"],
                     "labels": owner_labels(settings["owner"])},
        "spec": spec,
    }


def _service_entry(host, settings):
    spec = {"hosts": [host["host"]]}
    if host["addresses"]:
        spec["addresses"] = list(host["addresses"])
    spec["ports"] = [{"number": p["number"], "name": port_name(p["protocol"], p["number"]),
                      "protocol": p["protocol"]} for p in host["ports"]]
    spec["resolution"] = host["resolution"]
    spec["location"] = "MESH_EXTERNAL"
    if host["endpoints"]:
        spec["endpoints"] = [_endpoint(e) for e in host["endpoints"]]
    return _object("ServiceEntry", service_entry_name(settings["owner"], host["host"]), settings, spec)


def _endpoint(endpoint):
    rendered = {"address": endpoint["address"]}
    if endpoint["ports"]:
        rendered["ports"] = dict(sorted(endpoint["ports"].items()))
    return rendered


def _route(source, number, target, sni_host=None):
    match = {"gateways": [source], "port": number}
    if sni_host:
        # Passthrough: the client's SNI is all that names the host.
        match["sniHosts"] = [sni_host]
    return {"match": [match], "route": [target]}


def _virtual_service(host, settings, gateway, fqdn):
    """Per port, two legs: sidecars (gateway 'mesh') -> the egress gateway
    service, and the egress Gateway -> the external host."""
    name, owner = host["host"], settings["owner"]
    http, tls, tcp = [], [], []
    for port in host["ports"]:
        number, protocol = port["number"], port["protocol"]
        to_gateway = {"destination": {"host": fqdn, "subset": EGRESS_SUBSET, "port": {"number": number}},
                      "weight": 100}
        to_host = {"destination": {"host": name, "port": {"number": number}}, "weight": 100}
        if protocol in HTTP_PROTOCOLS:
            mesh_leg, gateway_leg = _route(MESH, number, to_gateway), _route(gateway, number, to_host)
            # The merge module recognises our HTTP routes by name.
            mesh_leg["name"] = route_name(owner, name, "mesh", number)
            gateway_leg["name"] = route_name(owner, name, "gateway", number)
            http += (mesh_leg, gateway_leg)
        elif protocol in TLS_PROTOCOLS:
            tls += (_route(MESH, number, to_gateway, name), _route(gateway, number, to_host, name))
        else:
            tcp += (_route(MESH, number, to_gateway), _route(gateway, number, to_host))
    result = {"name": virtual_service_name(name), "namespace": settings["namespace"],
              "hosts": [name], "gateways": [gateway, MESH]}
    for kind, routes in (("http", http), ("tls", tls), ("tcp", tcp)):
        if routes:
            result[kind] = routes
    return result


def _gateway(servers, settings, gateway):
    rendered = []
    for (number, protocol), hosts in sorted(servers.items()):
        server = {"port": {"number": number, "name": port_name(protocol, number), "protocol": protocol},
                  "hosts": sorted(hosts)}
        if protocol == "TLS":
            server["tls"] = {"mode": "PASSTHROUGH"}
        rendered.append(server)
    spec = {"selector": dict(settings["gateway_selector"]), "servers": rendered}
    return _object("Gateway", gateway, settings, spec)


def _destination_rule(settings, fqdn):
    spec = {"host": fqdn, "subsets": [{"name": EGRESS_SUBSET}]}
    return _object("DestinationRule", destination_rule_name(settings["owner"]), settings, spec)


def render(hosts, settings):
    """Objects and VirtualService routes for normalised ``hosts`` (output of
    ``hosts.normalize_hosts``), in one pass; raises ValueError on invalid
    settings (see ``DEFAULT_SETTINGS``; ``owner`` is required).

    Returns ``{"objects": [...], "virtual_services": [...], "summary": {...}}``:
    ``objects`` are full definitions, the ServiceEntries sorted by host, then
    the Gateway and the DestinationRule when any host goes via the gateway;
    ``virtual_services`` hold per via-gateway host ``name``, ``namespace``,
    ``hosts``, ``gateways`` and the non-empty ones of ``http``/``tls``/``tcp``;
    ``summary`` counts hosts (``hosts``, ``via_gateway``, ``direct``) and
    ``objects`` per kind.
    """
    settings = resolve_settings(settings)
    errors = validate_settings(settings)
    if errors:
        raise ValueError("invalid render settings:\n" + "\n".join(errors))
    gateway, fqdn = gateway_name(settings["owner"]), gateway_fqdn(settings)
    objects, virtual_services, servers = [], [], {}
    for host in sorted(hosts, key=lambda h: h["host"]):
        objects.append(_service_entry(host, settings))
        if not host["via_gateway"]:
            continue
        for port in host["ports"]:
            servers.setdefault((port["number"], gateway_protocol(port["protocol"])), []).append(host["host"])
        virtual_services.append(_virtual_service(host, settings, gateway, fqdn))
    via_gateway = len(virtual_services)
    if virtual_services:
        objects.append(_gateway(servers, settings, gateway))
        objects.append(_destination_rule(settings, fqdn))
    counts = dict((kind, 0) for kind in KINDS)
    for obj in objects:
        counts[obj["kind"]] += 1
    counts["VirtualService"] = via_gateway
    summary = {"hosts": counts["ServiceEntry"], "via_gateway": via_gateway,
               "direct": counts["ServiceEntry"] - via_gateway, "objects": counts}
    return {"objects": objects, "virtual_services": virtual_services, "summary": summary}
