# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The rules between the keys of one ``external_services_hosts`` item.

``hosts`` parses each key on its own; once every key of an item is valid,
``variant_errors`` checks the combinations Istio cannot serve (or serves
wrongly) for that item, each as ``(field, message)`` naming what to do
instead. Pure functions, no import of ``hosts`` (it imports this module).

The egress variants these rules allow, per item (see docs/egress-variants.md):

- HTTP, HTTP2, GRPC ports: plain in the mesh, routed by the Host header;
- TLS, HTTPS ports: the client's TLS passed through (SNI routing);
- ``tls_origination``: HTTP ports in the mesh, TLS from the egress gateway
  to ``origination_port`` (SIMPLE, or MUTUAL with ``credential_name``);
- TCP ports, with ``addresses`` (IPs, CIDRs) and ``endpoints``;
- wildcards: direct (``via_gateway: false``, resolution NONE or
  DYNAMIC_DNS), or through the gateway on TLS ports only, either to the one
  server of every name (``served_by``, Istio's single-server form) or with
  DYNAMIC_DNS (arbitrary names; only Istio builds that serve it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import ISTIO_RESERVED_PORTS

PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP", "GRPC", "HTTP2")
HTTP_PROTOCOLS = ("HTTP", "HTTP2", "GRPC")
TLS_PROTOCOLS = ("HTTPS", "TLS")


def gateway_protocol(protocol):
    """Protocol class of a port at the egress gateway: HTTPS is passed
    through untouched, so the gateway sees it as TLS (SNI routing)."""
    return "TLS" if protocol in TLS_PROTOCOLS else protocol


def _numbers(ports):
    return ", ".join(str(p["number"]) for p in ports)


def _reserved(item):
    reserved = [p for p in item["ports"] if p["number"] in ISTIO_RESERVED_PORTS]
    if not reserved or not item["via_gateway"]:
        return []
    return [("ports", "port(s) {0} are the Istio proxy's own ({1}): the egress gateway cannot serve them; "
                      "use another port".format(_numbers(reserved), ", ".join(str(p) for p in ISTIO_RESERVED_PORTS)))]


def _dynamic_dns(item, wildcard):
    if item["resolution"] != "DYNAMIC_DNS":
        return []
    errors = []
    if not wildcard:
        errors.append(("resolution", "DYNAMIC_DNS resolves the name of each request (Host header or SNI) and "
                                     "Istio takes it for wildcard hosts only; use DNS for one name"))
    if item["addresses"]:
        errors.append(("addresses", "not with DYNAMIC_DNS: the proxy resolves each request's name, so there is no "
                                    "address to match; drop 'addresses' (or use STATIC/NONE with a named host)"))
    if item["endpoints"]:
        errors.append(("endpoints", "not with DYNAMIC_DNS: Istio ignores the endpoints of a DYNAMIC_DNS "
                                    "ServiceEntry; drop 'endpoints'"))
    tcp = [p for p in item["ports"] if p["protocol"] == "TCP"]
    if tcp:
        # istiod's validation refuses the ServiceEntry: a TCP connection carries no name to resolve.
        errors.append(("ports", "not TCP with DYNAMIC_DNS (port(s) {0}): the proxy resolves the name each request "
                                "carries (Host header or SNI), which TCP has not, and Istio rejects it; use "
                                "resolution NONE, or name each host".format(_numbers(tcp))))
    return errors


def _wildcard_via_gateway(item):
    errors = []
    plain = [p for p in item["ports"] if p["protocol"] not in TLS_PROTOCOLS]
    if plain:
        errors.append(("ports", "a wildcard goes through the egress gateway on TLS/HTTPS ports only (port(s) {0} "
                                "are not): the gateway learns which name to reach from the client's SNI and "
                                "passes its TLS through; for plain ports name each host, or use via_gateway: "
                                "false with resolution NONE".format(_numbers(plain))))
    # DNS and NONE without served_by have their messages in hosts._parse_resolution.
    if item["resolution"] == "STATIC":
        errors.append(("resolution", "STATIC does not take a wildcard through the egress gateway: use "
                                     "served_by: <the one server of every name> (Istio's single-server form) "
                                     "or DYNAMIC_DNS"))
    if item["allowed_sources"]:
        errors.append(("allowed_sources", "not for a wildcard: its TLS is passed through with the client's own "
                                          "SNI, without the Istio mutual TLS that names the source at the gateway; "
                                          "list the hosts one by one to restrict their sources"))
    if item["tls_origination"]:
        errors.append(("tls_origination", "not for a wildcard: the egress gateway needs one name to originate TLS "
                                          "to; list the hosts one by one"))
    return errors


def _served_by(item, wildcard):
    if item["served_by"] is None:
        return []
    if not wildcard:
        return [("served_by", "only for a wildcard host (the one server of every name of '*.domain'); "
                              "drop it for a single name")]
    if not item["via_gateway"]:
        return [("served_by", "only through the egress gateway: direct wildcard traffic goes to the address the "
                              "client connected to (resolution NONE); drop it or set via_gateway: true")]
    return []


def _origination(item, wildcard):
    if not item["tls_origination"]:
        errors = []
        if item["origination_port"] is not None:
            errors.append(("origination_port", "only with tls_origination: true"))
        if item["credential_name"] is not None:
            errors.append(("credential_name", "only with tls_origination: true (the client certificate the "
                                              "egress gateway presents when it originates TLS)"))
        return errors
    errors = []
    if not item["via_gateway"]:
        errors.append(("tls_origination", "TLS is originated at the egress gateway: set via_gateway: true"))
    not_http = [p for p in item["ports"] if p["protocol"] not in HTTP_PROTOCOLS]
    if not_http and not wildcard:
        errors.append(("ports", "with tls_origination the app speaks plain HTTP on the listed ports and the "
                                "gateway originates TLS to origination_port ({0}); port(s) {1} are not HTTP: "
                                "list the HTTP port(s) only".format(item["origination_port"], _numbers(not_http))))
    if item["origination_port"] in [p["number"] for p in item["ports"]]:
        errors.append(("origination_port", "{0} is also in 'ports': the DestinationRule that originates TLS to "
                                           "port {0} would wrap that port's own traffic in TLS a second time; "
                                           "list the app's HTTP port(s) in 'ports' and the host's TLS port "
                                           "here".format(item["origination_port"])))
    return errors


def variant_errors(item):
    """(field, message) for the combinations one valid, normalised item
    cannot have; [] when Istio can serve it as declared."""
    wildcard = item["host"].startswith("*.")
    errors = _reserved(item) + _dynamic_dns(item, wildcard) + _served_by(item, wildcard)
    if wildcard and item["via_gateway"]:
        errors += _wildcard_via_gateway(item)
    errors += _origination(item, wildcard)
    if item["allowed_sources"] and not item["via_gateway"]:
        errors.append(("allowed_sources", "enforced by an AuthorizationPolicy at the egress gateway, which this "
                                          "host does not go through; set via_gateway: true or drop "
                                          "allowed_sources"))
    return errors
