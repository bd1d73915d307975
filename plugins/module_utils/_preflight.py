# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Checks before anything is applied, beyond one item or one setting.

- ``combination_errors``: host items that the rendering settings cannot
  serve (allowed_sources or default deny without sidecar -> gateway mutual
  TLS), refused like any validation error, naming the item and host;
- ``warnings``: what works as declared but is probably not what was meant;
- ``gateway_port_errors``: the ports the rendered Gateway needs that the
  egress gateway Service does not expose, or exposes under a name that makes
  Istio pick the wrong protocol for the sidecar -> gateway leg.

Pure functions over normalised hosts, resolved settings and render output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.meshops.istio_egress.plugins.module_utils._host_rules import gateway_protocol
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import as_int

# Istio's protocol selection: the Service port's appProtocol, else its name
# up to the first '-'; these make sidecars speak HTTP/2 to the gateway.
HTTP2_PROTOCOLS = ("http2", "grpc", "grpc-web", "h2c", "kubernetes.io/h2c")


def _where(var_name, index, host):
    return "{0}[{1}] (host {2!r})".format(var_name, index, host)


def combination_errors(hosts, settings, var_name="hosts"):
    """Errors of valid ``hosts`` (normalised, in input order) under valid,
    resolved ``settings``; a setting is named `key` (``_naming.name_errors``)."""
    if settings["gateway_mtls"]:
        return []
    errors = []
    for index, host in enumerate(hosts):
        if host["allowed_sources"]:
            errors.append("{0}: allowed_sources: needs sidecar -> gateway mutual TLS (`gateway_mtls`: true): without "
                          "it the egress gateway does not know the source's namespace or service account, so the "
                          "AuthorizationPolicy would refuse every request".format(_where(var_name, index, host["host"])))
    if settings["default_deny"]:
        errors.append("default_deny: needs sidecar -> gateway mutual TLS (`gateway_mtls`: true): without it no source "
                      "can be allowed, so the egress gateway would refuse everything")
    return errors


def warnings(hosts, settings):
    """Readable warnings for valid ``hosts`` under valid ``settings``; a setting is named `key`."""
    result = []
    via_gateway = [h for h in hosts if h["via_gateway"]]
    for host in hosts:
        for port in host["ports"]:
            if port["protocol"] == "TCP" and not host["addresses"]:
                result.append("host {0!r}: TCP port {1} has no addresses, so sidecars send every TCP connection to "
                              "port {1}, whatever its IP, to this host (Istio tells TCP services apart by address "
                              "and port); list its IPs or CIDRs under 'addresses'".format(host["host"], port["number"]))
        if host["via_gateway"] and host["resolution"] == "DYNAMIC_DNS":
            result.append("host {0!r}: DYNAMIC_DNS through the egress gateway needs an Istio whose gateways serve "
                          "it (dynamic forward proxy); where they do not, use served_by: <the one server of "
                          "every name>".format(host["host"]))
        if host["via_gateway"] and settings["default_deny"] and not host["allowed_sources"]:
            result.append("host {0!r}: no allowed_sources while `default_deny` is true: no source "
                          "may reach it through the egress gateway".format(host["host"]))
    if via_gateway and settings["namespace"] not in (settings["gateway_namespace"],
                                                     settings["control_plane_namespace"]):
        result.append("the egress gateway's DestinationRule lives in namespace {0!r}: sidecars look for it in their "
                      "own namespace, the gateway Service's ({1!r}) and the mesh root namespace (usually {2!r}), "
                      "so sidecars elsewhere miss its subsets; set `namespace` to one of "
                      "those".format(settings["namespace"], settings["gateway_namespace"],
                                     settings["control_plane_namespace"]))
    return result


def _service_ports(service_ports):
    """{number: declared protocol or None} of the gateway Service's ports."""
    ports = {}
    for port in service_ports or []:
        if isinstance(port, dict):
            number = as_int(port.get("port", port.get("number")))
            declared = port.get("appProtocol") or (port.get("name") or "").split("-", 1)[0] or None
        else:
            number, declared = as_int(port), None
        if number is not None:
            ports[number] = declared.lower() if isinstance(declared, str) else None
    return ports


def rendered_ports(rendered):
    """{port: (protocol, [hosts])} the rendered Gateway serves (``rendered``:
    the output of render)."""
    protocols = dict((p["number"], p["protocol"]) for p in rendered.get("gateway_ports") or [])
    needed = {}
    for obj in rendered.get("objects") or []:
        if obj.get("kind") != "Gateway":
            continue
        for server in obj["spec"]["servers"]:
            number = server["port"]["number"]
            protocol = protocols.get(number) or gateway_protocol(server["port"]["protocol"])
            entry = needed.setdefault(number, (protocol, []))
            entry[1].extend(h for h in server["hosts"] if h not in entry[1])
    return needed


def needed_ports(hosts):
    """{port: (protocol, [hosts])} that normalised ``hosts`` need on the
    gateway Service: the gateway port of every leg is the host's port."""
    needed = {}
    for host in hosts:
        if not host["via_gateway"]:
            continue
        for port in host["ports"]:
            entry = needed.setdefault(port["number"], (gateway_protocol(port["protocol"]), []))
            entry[1].append(host["host"])
    return needed


def gateway_port_errors(needed, service_ports):
    """Errors for the ports ``needed`` (``needed_ports`` of the hosts, or
    ``rendered_ports`` of the render output) that the egress gateway Service
    (``service_ports``: numbers, or its ``spec.ports`` dicts as in
    ``egress_gateway_facts.ports``) lacks, or declares with a protocol that
    makes sidecars speak HTTP/1.1 or TCP to an HTTP/2 or gRPC port."""
    available = _service_ports(service_ports)
    errors = []
    for number, (protocol, hosts) in sorted(needed.items()):
        names = ", ".join(repr(h) for h in sorted(hosts))
        if number not in available:
            errors.append("the egress gateway Service does not expose port {0}, which host(s) {1} ({2}) need: add "
                          "it to the Service (egress_gateway_extra_ports: [{{number: {0}, protocol: {2}}}] with "
                          "egress_gateway_install: manifest, or your installer's gateway Service ports), or "
                          "route those hosts on a port it exposes".format(number, names, protocol))
        elif protocol in ("HTTP2", "GRPC") and available[number] not in HTTP2_PROTOCOLS + (None,):
            # (None: a bare number or an unnamed port, whose protocol Istio detects.)
            errors.append("the egress gateway Service declares port {0} as {1!r} (its name or appProtocol), so "
                          "Istio's protocol selection has sidecars send the {2} of host(s) {3} to the gateway "
                          "as {4}; name the port '{5}-{0}' or set appProtocol: {5}".format(
                              number, available[number], protocol, names,
                              "HTTP/1.1" if available[number] == "http" else "plain TCP",
                              protocol.lower()))
    return errors
