# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""How each port of a host crosses the egress gateway, and the objects that
say so: the shared Gateway, the egress gateway's DestinationRule, the
VirtualService routes and, for TLS origination, the host's DestinationRule.

A *leg* is one port of one host going through the gateway. The gateway port
is always the host's port (80 stays 80, 443 stays 443): one gateway port
carries every host of that port, told apart by the Host header (HTTP) or the
SNI (TLS), so the gateway Service needs only the ports the hosts use, and a
TLS passthrough port never shares its SNI names with a mutual-TLS server of
the same host.

============  =====================  ==========================================  ====================
port          gateway_mtls: false    gateway_mtls: true                          gateway -> host
============  =====================  ==========================================  ====================
HTTP, HTTP2,  server <protocol>,     server HTTPS ISTIO_MUTUAL (one per port),   http route, to the
GRPC          shared subset          subset of the host: ISTIO_MUTUAL, sni host  port (origination:
                                                                                 its targetPort is the
                                                                                 origination_port)
TLS, HTTPS    server TLS             the same; with allowed_sources: server      tls route by SNI;
              PASSTHROUGH, shared    TLS ISTIO_MUTUAL of the host (the client's  inside mutual TLS:
              subset                 TLS inside Istio mutual TLS), its subset    tcp route
TCP           server TCP, shared     server TLS ISTIO_MUTUAL of the host, its    tcp route
              subset                 subset
============  =====================  ==========================================  ====================

Mutual TLS is what gives the gateway the source's identity (the
AuthorizationPolicy of ``allowed_sources``); a server terminated at the
gateway that routes TCP has one host, so that SNI picks the route. Wildcards
always pass through (their SNI is the client's). Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._host_rules import (
    HTTP_PROTOCOLS, TLS_PROTOCOLS, gateway_protocol,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import (
    EGRESS_SUBSET, route_name, server_port_name, subset_name, virtual_service_name,
)

MESH = "mesh"
ISTIO_MUTUAL = "ISTIO_MUTUAL"
PASSTHROUGH = "PASSTHROUGH"


def legs(host, settings):
    """One dict per port of a via-gateway host: ``port``, ``protocol`` (the
    host's), ``mesh`` and ``gateway`` (the route kind of each leg),
    ``mtls`` (sidecar -> gateway mutual TLS), ``server`` (gateway server
    protocol, tls mode, owning host or None when shared), ``target`` and
    ``target_port`` (the port of the target's ServiceEntry the gateway
    route names; with TLS origination that port's targetPort is the
    origination port)."""
    result = []
    mtls_on = settings["gateway_mtls"]
    for port in host["ports"]:
        number, protocol = port["number"], port["protocol"]
        leg = {"port": number, "protocol": protocol, "target": host["served_by"] or host["host"],
               "target_port": number}
        if protocol in HTTP_PROTOCOLS:
            leg.update(mesh="http", gateway="http", mtls=mtls_on,
                       server=("HTTPS", ISTIO_MUTUAL, None) if mtls_on else (protocol, None, None))
        elif protocol in TLS_PROTOCOLS:
            # Wrapped in mutual TLS only when the gateway must know the source.
            wrapped = mtls_on and bool(host["allowed_sources"])
            leg.update(mesh="tls", gateway="tcp" if wrapped else "tls", mtls=wrapped,
                       server=("TLS", ISTIO_MUTUAL, host["host"]) if wrapped else ("TLS", PASSTHROUGH, None))
        else:
            leg.update(mesh="tcp", gateway="tcp", mtls=mtls_on,
                       server=("TLS", ISTIO_MUTUAL, host["host"]) if mtls_on else ("TCP", None, None))
        result.append(leg)
    return result


def _route(source, number, target, sni_host=None):
    # TCP needs no destinationSubnets: sidecars already tell TCP hosts apart
    # by the ServiceEntry's addresses, which the route's host carries.
    match = {"gateways": [source], "port": number}
    if sni_host:
        # Passthrough: the client's SNI is all that names the host.
        match["sniHosts"] = [sni_host]
    return {"match": [match], "route": [target]}


def virtual_service(host, host_legs, settings, gateway, fqdn):
    """The routes of one host: per port, sidecars (gateway 'mesh') -> the
    egress gateway service, and the egress Gateway -> the external host."""
    name, owner = host["host"], settings["owner"]
    routes = {"http": [], "tls": [], "tcp": []}
    for leg in host_legs:
        number = leg["port"]
        subset = subset_name(name) if leg["mtls"] else EGRESS_SUBSET
        to_gateway = {"destination": {"host": fqdn, "subset": subset, "port": {"number": number}}, "weight": 100}
        to_host = {"destination": {"host": leg["target"], "port": {"number": leg["target_port"]}}, "weight": 100}
        mesh = _route(MESH, number, to_gateway, name if leg["mesh"] == "tls" else None)
        out = _route(gateway, number, to_host, name if leg["gateway"] == "tls" else None)
        if leg["mesh"] == "http":
            # The merge module recognises our HTTP routes by name.
            mesh["name"] = route_name(owner, name, "mesh", number)
            out["name"] = route_name(owner, name, "gateway", number)
        routes[leg["mesh"]].append(mesh)
        routes[leg["gateway"]].append(out)
    result = {"name": virtual_service_name(name), "namespace": settings["namespace"],
              "hosts": [name], "gateways": [gateway, MESH]}
    for kind in ("http", "tls", "tcp"):
        if routes[kind]:
            result[kind] = routes[kind]
    return result


def gateway_spec(all_legs, settings):
    """A server per port and protocol listing its hosts, and one of its own
    for each host whose mutual TLS the gateway terminates to route TCP."""
    servers = {}
    for host, host_legs in all_legs:
        for leg in host_legs:
            protocol, mode, owner_host = leg["server"]
            key = (leg["port"], protocol, mode or "", owner_host or "")
            servers.setdefault(key, []).append(host)
    rendered = []
    for (number, protocol, mode, owner_host), hosts in sorted(servers.items()):
        server = {"port": {"number": number, "name": server_port_name(protocol, number, owner_host or None),
                           "protocol": protocol},
                  "hosts": sorted(hosts)}
        if mode:
            server["tls"] = {"mode": mode}
        rendered.append(server)
    return {"selector": dict(settings["gateway_selector"]), "servers": rendered}


def gateway_destination_rule_spec(all_legs, settings, fqdn):
    """The egress gateway's subsets: the shared one for plain legs, one per
    host with mutual TLS (its SNI is the host, which the gateway matches)."""
    shared, own = False, []
    for host, host_legs in all_legs:
        mtls_ports = sorted(leg["port"] for leg in host_legs if leg["mtls"])
        shared = shared or len(mtls_ports) < len(host_legs)
        if mtls_ports:
            own.append({"name": subset_name(host), "trafficPolicy": {"portLevelSettings": [
                {"port": {"number": number}, "tls": {"mode": ISTIO_MUTUAL, "sni": host}} for number in mtls_ports]}})
    spec = {"host": fqdn}
    if settings["enforce_namespaces"]:
        # Sidecars of the enforced namespaces must find the subsets whatever
        # the mesh's defaultDestinationRuleExportTo says.
        spec["exportTo"] = ["*"]
    spec["subsets"] = ([{"name": EGRESS_SUBSET}] if shared else []) + own
    return spec


def host_destination_rule_spec(host, settings):
    """TLS origination: on each of the host's HTTP ports (whose targetPort
    is the origination port) the egress gateway opens TLS to the host
    (MUTUAL with the client certificate of credential_name, a Secret in the
    gateway's namespace). Exported to the gateway's namespace only, so
    sidecars never originate TLS themselves."""
    name = host["host"]
    tls = {"mode": "SIMPLE", "sni": name}
    if host["credential_name"]:
        tls = {"mode": "MUTUAL", "credentialName": host["credential_name"], "sni": name}
    export = "." if settings["namespace"] == settings["gateway_namespace"] else settings["gateway_namespace"]
    return {"host": name, "exportTo": [export], "trafficPolicy": {"portLevelSettings": [
        {"port": {"number": port["number"]}, "tls": dict(tls)} for port in host["ports"]]}}


def gateway_ports(all_legs):
    """The ports the gateway Service must expose, each with the protocol its
    Service port name should declare (sidecars speak HTTP/2 to an http2- or
    grpc- port): ``[{number, protocol}]`` sorted by number."""
    ports = {}
    for dummy, host_legs in all_legs:
        for leg in host_legs:
            ports.setdefault(leg["port"], gateway_protocol(leg["protocol"]))
    return [{"number": number, "protocol": protocol} for number, protocol in sorted(ports.items())]
