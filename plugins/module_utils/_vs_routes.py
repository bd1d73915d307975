# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""VirtualService routes: their identity and the validation of our input.

Pure functions. Validation runs before any request and reports every error
at once, each naming the route index and field, so a hand-written typo
(``gateway:`` for ``gateways:``) fails here rather than half-way through a run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json

from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import canonical, plain_copy
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import is_dns1123_label, is_dns1123_subdomain

ROUTE_KINDS = ("http", "tls", "tcp")
LIST_FIELDS = ("hosts", "gateways", "exportTo")

# Field names of Istio's VirtualService schema (crd-all.gen.yaml, networking
# v1); tests/unit check them against the CRD bundle so they cannot drift.
HTTP_ROUTE_FIELDS = frozenset((
    "corsPolicy", "delegate", "directResponse", "fault", "headers", "match", "mirror", "mirror_percent",
    "mirrorPercent", "mirrorPercentage", "mirrors", "name", "redirect", "retries", "rewrite", "route", "timeout",
))
HTTP_MATCH_FIELDS = frozenset((
    "authority", "gateways", "headers", "ignoreUriCase", "method", "name", "port", "queryParams", "scheme",
    "sourceLabels", "sourceNamespace", "statPrefix", "uri", "withoutHeaders",
))
HTTP_DESTINATION_FIELDS = frozenset(("destination", "headers", "weight"))
L4_ROUTE_FIELDS = frozenset(("match", "route"))
TLS_MATCH_FIELDS = frozenset(("destinationSubnets", "gateways", "port", "sniHosts", "sourceLabels", "sourceNamespace"))
TCP_MATCH_FIELDS = frozenset(("destinationSubnets", "gateways", "port", "sourceLabels", "sourceNamespace", "sourceSubnet"))
L4_DESTINATION_FIELDS = frozenset(("destination", "weight"))
DESTINATION_FIELDS = frozenset(("host", "port", "subset"))

_ROUTE_FIELDS = {"http": HTTP_ROUTE_FIELDS, "tls": L4_ROUTE_FIELDS, "tcp": L4_ROUTE_FIELDS}
_MATCH_FIELDS = {"http": HTTP_MATCH_FIELDS, "tls": TLS_MATCH_FIELDS, "tcp": TCP_MATCH_FIELDS}
_ROUTE_DESTINATION_FIELDS = {"http": HTTP_DESTINATION_FIELDS, "tls": L4_DESTINATION_FIELDS, "tcp": L4_DESTINATION_FIELDS}
# Set-valued match fields: their order means nothing to Istio, so not to identity either.
_UNORDERED_MATCH_LISTS = ("gateways", "sniHosts", "destinationSubnets")
# A match condition with only these keys matches every request (on its gateways).
_NON_CONDITIONS = frozenset(("name", "gateways"))
_MAX_PORT = 4294967295
_NAME_FIELDS = (
    ("name", is_dns1123_subdomain, "a valid object name (lower-case DNS name: a-z, 0-9, '-', '.', at most 253 characters)"),
    ("namespace", is_dns1123_label, "a valid namespace name (DNS-1123 label: a-z, 0-9, '-', at most 63 characters)"),
)


class MergeError(Exception):
    """Input or live state we must not act on; nothing has been written."""


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def normal_match_list(match):
    """The match list in a canonical form: set-like lists sorted, ports as
    ints, and the entries themselves sorted (a route matches if any does)."""
    entries = []
    for entry in match or []:
        entry = canonical(entry) if isinstance(entry, dict) else entry
        if isinstance(entry, dict):
            for key in _UNORDERED_MATCH_LISTS:
                if isinstance(entry.get(key), list):
                    entry[key] = sorted(entry[key], key=_dumps)
        entries.append(entry)
    return sorted(entries, key=_dumps)


def match_key(match):
    return _dumps(normal_match_list(match))


def route_identity(kind, route):
    """(kind, key): the HTTP route's name, or the TLS/TCP route's canonical
    match. None for an unnamed HTTP route (foreign ones may have no name)."""
    if kind == "http":
        name = route.get("name") if isinstance(route, dict) else None
        return (kind, name) if name else None
    match = route.get("match") if isinstance(route, dict) else None
    return (kind, match_key(match if isinstance(match, list) else []))


def route_fingerprint(kind, route):
    """What 'same content' means when two owners declare one route."""
    result = canonical(route)
    if kind != "http" and isinstance(result.get("match"), list):
        result["match"] = normal_match_list(result["match"])
    return result


def is_catch_all(route):
    """True when the route matches every request, so routes after it are shadowed."""
    match = route.get("match")
    if not match:
        return True
    return any(isinstance(entry, dict) and set(entry) <= _NON_CONDITIONS for entry in match)


def describe_identity(identity):
    """Readable identity: ``http:<name>``, ``tls:mesh:443:edition.cnn.com``, ``tcp:*``."""
    kind, key = identity
    if kind == "http":
        return "http:" + key
    matches = json.loads(key)
    if not matches:
        return kind + ":*"
    parts = []
    for entry in matches:
        fields = [",".join(entry.get("gateways") or []) or "*", str(entry.get("port", "*"))]
        if kind == "tls":
            fields.append(",".join(entry.get("sniHosts") or []))
        for extra in sorted(set(entry) - {"gateways", "port", "sniHosts"}):
            fields.append("{0}={1}".format(extra, _dumps(entry[extra]) if not isinstance(entry[extra], str) else entry[extra]))
        parts.append(":".join(fields))
    return kind + ":" + "|".join(parts)


def _unknown_keys(where, value, allowed, errors):
    for key in sorted(set(value) - allowed, key=str):
        hint = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
        suffix = " (did you mean '{0}'?)".format(hint[0]) if hint else ""
        errors.append("{0}: unknown key '{1}'{2}".format(where, key, suffix))


def _port(where, value, errors):
    """The port as an int (templating may hand us '80'), or an error."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_PORT:
        errors.append("{0}: must be a port number, got {1!r}".format(where, value))
    return value


def _string_list(where, value, errors, required=False):
    if value is None and not required:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        errors.append("{0}: must be a list of non-empty strings".format(where))
    elif required and not value:
        errors.append("{0}: must not be empty".format(where))


def _check_match(kind, where, match, errors):
    if not isinstance(match, list):
        errors.append("{0}: must be a list of match conditions".format(where))
        return
    if kind == "tls" and not match:
        errors.append("{0}: a TLS route needs at least one match (with sniHosts)".format(where))
    for index, entry in enumerate(match):
        here = "{0}[{1}]".format(where, index)
        if not isinstance(entry, dict):
            errors.append("{0}: must be a dict".format(here))
            continue
        _unknown_keys(here, entry, _MATCH_FIELDS[kind], errors)
        _string_list(here + ".gateways", entry.get("gateways"), errors)
        if kind == "tls":
            _string_list(here + ".sniHosts", entry.get("sniHosts"), errors, required=True)
        if "port" in entry:
            entry["port"] = _port(here + ".port", entry["port"], errors)


def _check_destinations(kind, where, route, errors):
    if not isinstance(route, list):
        errors.append("{0}: must be a list of destinations".format(where))
        return
    for index, entry in enumerate(route):
        here = "{0}[{1}]".format(where, index)
        if not isinstance(entry, dict):
            errors.append("{0}: must be a dict".format(here))
            continue
        _unknown_keys(here, entry, _ROUTE_DESTINATION_FIELDS[kind], errors)
        destination = entry.get("destination")
        if not isinstance(destination, dict):
            errors.append("{0}.destination: required, a dict with 'host'".format(here))
            continue
        _unknown_keys(here + ".destination", destination, DESTINATION_FIELDS, errors)
        if not isinstance(destination.get("host"), str) or not destination.get("host"):
            errors.append("{0}.destination.host: required, a non-empty string".format(here))
        port = destination.get("port")
        if isinstance(port, dict) and "number" in port:
            port["number"] = _port(here + ".destination.port.number", port["number"], errors)
        elif port is not None:
            errors.append("{0}.destination.port: must be a dict like {{number: 443}}".format(here))


def _check_routes(kind, routes, errors):
    """Validate (and normalise ports of) the routes of one kind, in place."""
    if routes is None:
        return
    if not isinstance(routes, list):
        errors.append("{0}: must be a list of routes".format(kind))
        return
    seen = {}
    for index, route in enumerate(routes):
        where = "{0}[{1}]".format(kind, index)
        if not isinstance(route, dict):
            errors.append("{0}: must be a dict, got {1}".format(where, type(route).__name__))
            continue
        _unknown_keys(where, route, _ROUTE_FIELDS[kind], errors)
        if kind == "http" and (not isinstance(route.get("name"), str) or not route.get("name")):
            errors.append("{0}.name: required, a non-empty string (it identifies the route)".format(where))
        if "match" in route:
            _check_match(kind, where + ".match", route["match"], errors)
        elif kind == "tls":
            errors.append("{0}.match: required for a TLS route".format(where))
        if "route" in route:
            _check_destinations(kind, where + ".route", route["route"], errors)
        identity = route_identity(kind, route)
        if identity is None:
            continue
        if identity in seen:
            errors.append("{0}: same identity ({1}) as {2}[{3}]".format(where, describe_identity(identity), kind, seen[identity]))
        seen.setdefault(identity, index)


def prepare(desired, state="present"):
    """Validated copy of ``desired`` ({name, namespace, hosts, gateways,
    exportTo, http, tls, tcp}) with ports as ints; MergeError lists every problem."""
    desired = plain_copy(desired)
    errors = []
    for field, valid, what in _NAME_FIELDS:
        value = desired.get(field)
        if not isinstance(value, str) or not value:
            errors.append("{0}: required, a non-empty string".format(field))
        elif not valid(value):
            errors.append("{0}: {1!r} is not {2}".format(field, value, what))
    if state == "present":
        _string_list("hosts", desired.get("hosts"), errors, required=True)
        for field in ("gateways", "exportTo"):
            _string_list(field, desired.get(field), errors)
        for kind in ROUTE_KINDS:
            _check_routes(kind, desired.get(kind), errors)
        if not errors and not any(desired.get(kind) for kind in ROUTE_KINDS):
            errors.append("http, tls, tcp: at least one route is required with state=present (use state=absent to remove ours)")
    if errors:
        what = "VirtualService {0}/{1}".format(desired.get("namespace"), desired.get("name"))
        raise MergeError("{0}: invalid input: {1}".format(what, "; ".join(errors)))
    for field in LIST_FIELDS + ROUTE_KINDS:
        desired[field] = list(desired.get(field) or []) if state == "present" else []
    return desired
