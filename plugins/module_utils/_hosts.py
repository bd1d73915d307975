# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Validation and normalisation of ``external_services_hosts``.

``validate_hosts`` checks the whole list and returns every error at once, each
naming the item index, the host and the field, so one run shows the user all
that is wrong. ``normalize_hosts`` (only after validation passed) applies the
defaults and coerces inventory/survey values (``"443"``, ``"true"``, ``"tls"``)
so that rendering never sees raw input. Both share one parser per item, so
what validates is exactly what normalises.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible_collections.meshops.istio_egress.plugins.module_utils._host_rules import (
    HTTP_PROTOCOLS, PROTOCOLS, gateway_protocol, variant_errors,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import (
    as_int,
    host_error, is_dns1123_label, is_dns1123_subdomain, is_ip, port_name,
)

# What the errors call the list unless the caller names it (the role layer passes its variable's name).
VAR_NAME = "hosts"
RESOLUTIONS = ("DNS", "STATIC", "NONE", "DYNAMIC_DNS")
ITEM_KEYS = ("host", "ports", "via_gateway", "resolution", "tls_origination",
             "allowed_sources", "addresses", "endpoints", "origination_port", "credential_name",
             "served_by")
PORT_KEYS = ("number", "protocol")
SOURCE_KEYS = ("namespaces", "service_accounts")
ENDPOINT_KEYS = ("address", "ports")
DEFAULT_PORT = {"number": 80, "protocol": "HTTP"}
DEFAULT_ORIGINATION_PORT = 443
# Ports whose protocol everyone assumes: a sidecar told the other protocol
# misreads every byte (an https:// client on a port declared HTTP).
WELL_KNOWN_PORTS = {80: "HTTP", 443: "TLS"}

_TRUE = ("true", "yes")
_FALSE = ("false", "no")
_TLS_MODES = ("SIMPLE", "MUTUAL", "ISTIO_MUTUAL")


def _type(value):
    # Ansible 2.19 hands plugins tagged subclasses (_AnsibleTaggedStr, ...):
    # name the YAML type the user wrote, not the Python class.
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
                       (str, "a string"), (dict, "a dict"), (list, "a list")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def _unknown_keys(data, allowed, where):
    errors = []
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = "; did you mean '{0}'?".format(close[0]) if close else ""
        errors.append((where + str(key), "unknown key; allowed keys: {0}{1}".format(
            ", ".join(sorted(allowed)), hint)))
    return errors


def _port(value):
    number = as_int(value)
    if number is None:
        return None, "must be an integer 1-65535, got {0!r} ({1})".format(value, _type(value))
    if not 1 <= number <= 65535:
        return None, "{0} is out of range 1-65535".format(number)
    return number, None


def _flag(value):
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE, None
    if isinstance(value, bool):
        return value, None
    return None, "must be a boolean (true/false, yes/no), got {0!r}".format(value)


def _choice(value, choices):
    if isinstance(value, str) and value.strip().upper() in choices:
        return value.strip().upper(), None
    return None, "must be one of {0}, got {1!r}".format(", ".join(choices), value)


def _parse_ports(value):
    if value is None:
        return [dict(DEFAULT_PORT)], []
    if not isinstance(value, list):
        return None, [("ports", "must be a list of {{number, protocol}}, got {0}".format(_type(value)))]
    if not value:
        return None, [("ports", "must list at least one port (omit 'ports' for the default HTTP 80)")]
    ports, errors, seen = [], [], {}
    for index, port in enumerate(value):
        where = "ports[{0}]".format(index)
        if not isinstance(port, dict):
            errors.append((where, "must be a dict {{number, protocol}}, got {0}".format(_type(port))))
            continue
        errors.extend(_unknown_keys(port, PORT_KEYS, where + "."))
        number, error = _port(port.get("number")) if "number" in port else (None, "required")
        if error:
            errors.append((where + ".number", error))
        protocol, error = (_choice(port.get("protocol"), PROTOCOLS) if "protocol" in port
                           else (None, "required, one of " + ", ".join(PROTOCOLS)))
        if error:
            errors.append((where + ".protocol", error))
        mismatch = _well_known_mismatch(number, protocol)
        if mismatch:
            errors.append((where + ".protocol", mismatch))
        if number is not None and number in seen:
            errors.append((where + ".number", "port {0} is listed twice (also ports[{1}])".format(
                number, seen[number])))
        elif number is not None:
            seen[number] = index
        ports.append({"number": number, "protocol": protocol})
    ports.sort(key=lambda p: p["number"] or 0)
    return ports, errors


def _well_known_mismatch(number, protocol):
    """Refused, not warned: the traffic would fail, and the fix is a word."""
    expected = WELL_KNOWN_PORTS.get(number)
    if not expected or not protocol or (protocol in HTTP_PROTOCOLS) == (expected == "HTTP"):
        return None
    if expected == "TLS":
        return ("{0} on port 443, which carries TLS by convention: a sidecar that expects plain {0} fails on "
                "the TLS of an https:// client; use protocol TLS (or HTTPS) to pass the client's TLS through, "
                "or port 80 with tls_origination: true to have the egress gateway originate TLS").format(protocol)
    return ("{0} on port 80, which carries plain HTTP by convention: clients send http:// there; use protocol "
            "HTTP, or the TLS port the host really serves (usually 443)").format(protocol)


def _string_list(value, field, check, what):
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [(field, "must be a list of {0}, got {1}".format(what, _type(value)))]
    errors = [("{0}[{1}]".format(field, index), "{0!r} is not {1}".format(entry, what))
              for index, entry in enumerate(value) if not check(entry)]
    return [str(entry) for entry in value], errors


def _is_service_account(value):
    namespace, dummy, name = value.partition("/") if isinstance(value, str) else ("", "", "")
    return is_dns1123_label(namespace) and is_dns1123_subdomain(name)


def _parse_sources(value):
    if value is None:
        return None, []
    if not isinstance(value, dict):
        return None, [("allowed_sources", "must be a dict {{namespaces, service_accounts}}, got {0}".format(
            _type(value)))]
    errors = _unknown_keys(value, SOURCE_KEYS, "allowed_sources.")
    namespaces, found = _string_list(value.get("namespaces"), "allowed_sources.namespaces",
                                     is_dns1123_label, "a namespace name (DNS-1123 label)")
    errors += found
    accounts, found = _string_list(value.get("service_accounts"), "allowed_sources.service_accounts",
                                   _is_service_account, "a service account as 'namespace/name'")
    errors += found
    if not namespaces and not accounts and not errors:
        errors.append(("allowed_sources", "lists no namespace or service account; "
                                          "omit it to allow every source"))
    return {"namespaces": sorted(set(namespaces)), "service_accounts": sorted(set(accounts))}, errors


def _parse_endpoints(value, resolution, ports):
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [("endpoints", "must be a list of {{address, ports}}, got {0}".format(_type(value)))]
    names = [port_name(p["protocol"], p["number"]) for p in ports or [] if p["number"] and p["protocol"]]
    endpoints, errors = [], []
    for index, endpoint in enumerate(value):
        where = "endpoints[{0}]".format(index)
        if not isinstance(endpoint, dict):
            errors.append((where, "must be a dict {{address, ports}}, got {0}".format(_type(endpoint))))
            continue
        errors.extend(_unknown_keys(endpoint, ENDPOINT_KEYS, where + "."))
        address = endpoint.get("address")
        # STATIC sends traffic to these addresses as they are; DNS resolves them.
        valid = is_ip(address) if isinstance(address, str) and resolution == "STATIC" else (
            isinstance(address, str) and (is_ip(address) or is_dns1123_subdomain(address.lower())))
        if not valid:
            errors.append((where + ".address", "{0!r} is not {1}".format(
                address, "an IP address" if resolution == "STATIC" else "an IP address or DNS name")))
        mapped, given = {}, endpoint.get("ports") or {}
        if not isinstance(given, dict):
            errors.append((where + ".ports", "must be a dict {port name: number}, got " + _type(given)))
            given = {}
        for name, number in given.items():
            if names and name not in names:
                errors.append((where + ".ports", "{0!r} is not a port of this host (its port names: {1})".format(
                    name, ", ".join(names))))
            mapped[str(name)], error = _port(number)
            if error:
                errors.append((where + ".ports." + str(name), error))
        endpoints.append({"address": str(address), "ports": mapped})
    return endpoints, errors


def _parse_flags(item):
    flags, errors = {"via_gateway": True, "tls_origination": False}, []
    for field in flags:
        if item.get(field) is not None:
            value, error = _flag(item[field])
            if error and field == "tls_origination" and str(item[field]).strip().upper() in _TLS_MODES:
                # Istio's DestinationRule TLS modes: here the mode follows from credential_name.
                error += ("; TLS origination is on or off: write tls_origination: true, and for mutual TLS (MUTUAL) "
                          "also credential_name: <the Secret of the gateway's client certificate>")
            if error:
                errors.append((field, error))
            else:
                flags[field] = value
    return flags, errors


def _parse_resolution(item, via_gateway):
    raw = item.get("resolution")
    host = item.get("host")
    wildcard = isinstance(host, str) and host.startswith("*")
    if wildcard and item.get("served_by") is not None:
        # Istio's single-server form: the wildcard's own ServiceEntry only
        # names the hosts (NONE); the gateway sends the traffic to served_by.
        resolution, error = _choice("NONE" if raw is None else raw, RESOLUTIONS)
        if error or resolution != "NONE":
            return resolution, [("resolution", "with served_by the wildcard's ServiceEntry uses NONE and the "
                                               "egress gateway sends its traffic to the served_by host "
                                               "(resolved by DNS); drop 'resolution'")]
        return resolution, []
    resolution, error = _choice("DNS" if raw is None else raw, RESOLUTIONS)
    if error:
        return None, [("resolution", error)]
    if resolution == "DNS" and wildcard:
        return resolution, [("resolution", "DNS cannot resolve a wildcard host (Istio rejects it); through the "
                                           "egress gateway use DYNAMIC_DNS (any name of the domain; only Istio "
                                           "builds that serve DYNAMIC_DNS) or served_by: <the one server of every "
                                           "name> (Istio's single-server form); for direct egress use NONE with "
                                           "via_gateway: false")]
    if resolution == "NONE" and via_gateway:
        # NONE forwards to the original destination address, which at the
        # gateway is the gateway itself.
        return resolution, [("resolution", "NONE with via_gateway: true makes the egress gateway "
                                           "send the traffic back to itself; use DNS (DYNAMIC_DNS "
                                           "for wildcards) or via_gateway: false")]
    return resolution, []


def _parse_item(item):
    """Normalised item and a list of (field, message)."""
    errors = _unknown_keys(item, ITEM_KEYS, "")
    host = item.get("host")
    error = host_error(host) if "host" in item else "required (a DNS name such as 'api.example.com')"
    if error:
        errors.append(("host", error))
    ports, found = _parse_ports(item.get("ports"))
    errors += found
    flags, found = _parse_flags(item)
    errors += found
    resolution, found = _parse_resolution(item, flags["via_gateway"])
    errors += found
    addresses, found = _string_list(item.get("addresses"), "addresses", is_ip, "an IP address or CIDR")
    errors += found
    if resolution not in ("STATIC", "NONE", None) and any("/" in a for a in addresses):
        errors.append(("addresses", "CIDR ranges need resolution STATIC or NONE (Istio rejects "
                                    "them with {0})".format(resolution)))
    endpoint_ports = list(ports or [])
    if flags["tls_origination"]:
        origination, dummy = _port(item.get("origination_port", DEFAULT_ORIGINATION_PORT))
        if origination:
            endpoint_ports.append({"number": origination, "protocol": "HTTPS"})
    endpoints, found = _parse_endpoints(item.get("endpoints"), resolution, endpoint_ports)
    errors += found
    if resolution == "STATIC" and not endpoints and not found:
        errors.append(("endpoints", "resolution STATIC needs endpoints (the IPs to send traffic to)"))
    if resolution == "NONE" and endpoints:
        errors.append(("endpoints", "not allowed with resolution NONE (Istio rejects it)"))
    allowed_sources, found = _parse_sources(item.get("allowed_sources"))
    errors += found
    origination_port, credential_name, served_by, found = _parse_variant_keys(item, flags)
    errors += found
    normalised = {
        "host": host.lower() if isinstance(host, str) else host,
        "ports": ports,
        "via_gateway": flags["via_gateway"],
        "resolution": resolution,
        "tls_origination": flags["tls_origination"],
        "allowed_sources": allowed_sources,
        "addresses": addresses,
        "endpoints": endpoints,
        "origination_port": origination_port,
        "credential_name": credential_name,
        "served_by": served_by,
    }
    if not errors:
        # The rules between keys only make sense once each key is valid.
        errors += variant_errors(normalised)
    return normalised, errors


def _parse_variant_keys(item, flags):
    """origination_port, credential_name, served_by and their errors."""
    errors = []
    origination_port = None
    if item.get("origination_port") is not None:
        origination_port, error = _port(item["origination_port"])
        if error:
            errors.append(("origination_port", error))
    elif flags["tls_origination"]:
        origination_port = DEFAULT_ORIGINATION_PORT
    credential_name = item.get("credential_name")
    if credential_name is not None:
        if not is_dns1123_subdomain(credential_name):
            errors.append(("credential_name", "{0!r} is not a Secret name (lower-case DNS name: a-z, 0-9, '-', "
                                              "'.', at most 253 characters)".format(credential_name)))
        credential_name = str(credential_name)
    served_by = item.get("served_by")
    if served_by is not None:
        error = host_error(served_by)
        if error is None and served_by.startswith("*"):
            error = "{0!r} is a wildcard; name the one server that serves every name of the domain".format(served_by)
        if error:
            errors.append(("served_by", error))
        served_by = served_by.lower() if isinstance(served_by, str) else served_by
    return origination_port, credential_name, served_by, errors


def _cross_item_errors(parsed):
    """Duplicate hosts, and ports the shared egress gateway cannot serve."""
    errors, hosts, gateway_ports = [], {}, {}
    for index, (item, dummy) in parsed:
        host = item["host"]
        if host in hosts:
            errors.append((index, "host", "{0!r} is already declared at {{var}}[{1}]; list all its "
                                          "ports in one item".format(host, hosts[host])))
            continue
        hosts[host] = index
        if not item["via_gateway"]:
            continue
        for port in item["ports"] or []:
            if port["number"] is None or port["protocol"] is None:
                continue
            protocol = gateway_protocol(port["protocol"])
            other = gateway_ports.setdefault(port["number"], (protocol, index, host))
            if other[1] == index:
                continue
            if other[0] != protocol:
                message = ("port {0} is {1} here but {2} for host {3!r} ({{var}}[{4}]); the egress "
                           "gateway serves one protocol per port").format(
                               port["number"], protocol, other[0], other[2], other[1])
            elif protocol == "TCP":
                message = ("TCP port {0} also goes to host {1!r} ({{var}}[{2}]) through the egress "
                           "gateway, which cannot tell TCP hosts apart; use another port or "
                           "TLS").format(port["number"], other[2], other[1])
            else:
                continue
            errors.append((index, "ports", message))
    for index, (item, dummy) in parsed:
        target = item["served_by"]
        if target in hosts:
            errors.append((index, "served_by", "{0!r} is also declared at {{var}}[{1}], and with served_by this "
                                               "item renders the ServiceEntry of {0!r} itself; drop that item (the "
                                               "wildcard's routes cover {0!r} too) or served_by".format(
                                                   target, hosts[target])))
    return errors


def _parse_all(items, var_name):
    """Normalised items (those with a valid host) and every error, in item order."""
    if not isinstance(items, list):
        return [], ["{0}: must be a list of host items (use [] for none), got {1}".format(
            var_name, _type(items))]
    errors, parsed = [], []  # errors: (index, message)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            hint = " (write {{host: {0!r}}})".format(item) if isinstance(item, str) else ""
            errors.append((index, "{0}[{1}]: must be a dict with at least 'host', got {2}{3}".format(
                var_name, index, _type(item), hint)))
            continue
        normalised, found = _parse_item(item)
        errors.extend((index, _format(var_name, index, item.get("host"), field, message))
                      for field, message in found)
        if not any(field == "host" for field, dummy in found):
            parsed.append((index, (normalised, item.get("host"))))
    raw_hosts = dict((index, raw_host) for index, (dummy, raw_host) in parsed)
    for index, field, message in _cross_item_errors(parsed):
        errors.append((index, _format(var_name, index, raw_hosts[index], field, message.format(var=var_name))))
    errors.sort(key=lambda error: error[0])  # stable: keeps the field order within an item
    return [normalised for dummy, (normalised, unused) in parsed], [message for dummy, message in errors]


def _format(var_name, index, host, field, message):
    known = " (host {0!r})".format(host) if isinstance(host, str) else ""
    return "{0}[{1}]{2}: {3}: {4}".format(var_name, index, known, field, message)


def parse_hosts(items, var_name=VAR_NAME):
    """(normalised items, every error) of ``items`` in one pass; the items are
    usable only when there is no error."""
    return _parse_all(items, var_name)


def validate_hosts(items, var_name=VAR_NAME):
    """Every error in ``items`` (an ``external_services_hosts`` list), as
    readable strings; an empty list means valid."""
    return _parse_all(items, var_name)[1]


def normalize_hosts(items):
    """``items`` with defaults applied and values coerced; call only after
    ``validate_hosts`` returned no error (raises ValueError otherwise)."""
    normalised, errors = _parse_all(items, VAR_NAME)
    if errors:
        raise ValueError("invalid {0}:\n{1}".format(VAR_NAME, "\n".join(errors)))
    return normalised
