# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Kubernetes name syntax checks and the names of the objects we render.

Every name is ``<slug>-<digest>``:

- the slug makes the name readable: the host lower-cased, a leading ``*.``
  spelled ``wildcard-``, every other character outside ``[a-z0-9]`` turned
  into ``-``; it is cut so that the whole name stays <= 63 characters, the
  DNS-1123 label limit, which also makes every name a valid label value;
- the digest makes it unique and stable: the first 8 hex characters of the
  SHA-256 of the full, untruncated input (hashlib, never ``hash()``, whose
  value changes between runs), so two hosts that share a slug, or whose slugs
  only differ past the cut, still get different names. Two names can only
  collide if both the slug and 32 bits of SHA-256 agree.

Objects and their inputs:

============================  ===========================  ===================================
object                        digest over                  example (owner ``prod-eu``)
============================  ===========================  ===================================
VirtualService                host                         ``httpbin-org-<8 hex>``
ServiceEntry                  owner + host                 ``httpbin-org-<8 hex>``
Gateway, DestinationRule      owner                        ``meshops-egress-prod-eu-<8 hex>``
HTTP route                    owner + host                 ``meshops-<8 hex>-mesh-80``
egress subset of one host     host                         ``httpbin-org-<8 hex>``
host DestinationRule (TLS     owner + host                 ``edition-cnn-com-<8 hex>``
origination)
AuthorizationPolicy of a      owner + host                 ``authz-httpbin-org-<8 hex>``
host
allow-all / deny-all          owner                        ``meshops-allow-prod-eu-<8 hex>``
AuthorizationPolicy                                        ``meshops-deny-prod-eu-<8 hex>``
NetworkPolicy                 owner                        ``meshops-egress-prod-eu-<8 hex>``
============================  ===========================  ===================================

A VirtualService is shared by every owner and team routing that host (Istio
does not merge two VirtualServices for one host), so its name depends on the
host alone. A ServiceEntry belongs to one ownership set, so two sets on one
cluster never write the same object. HTTP route names identify our routes
inside a shared VirtualService: unique per owner, host, leg and port. A host's
egress subset lives in its owner's DestinationRule, so the host alone makes
it unique; the DestinationRule of a host shares its ServiceEntry's name (kinds
differ). One NetworkPolicy per enforced namespace: the name repeats across
namespaces.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import hashlib
import ipaddress
import re

MAX_LABEL = 63
MAX_SUBDOMAIN = 253
DIGEST_LENGTH = 8
# The DestinationRule subset the mesh-side routes point at.
EGRESS_SUBSET = "meshops-egress"
SHARED_PREFIX = "meshops-egress"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_DNS_RULE = ("RFC 1123: labels of a-z, 0-9 and '-', 1-63 chars, "
             "not starting or ending with '-'")
_DIGITS = re.compile(r"^[0-9]+$")
# Ports the injected proxy itself listens on: a gateway Service or Gateway server cannot take them.
ISTIO_RESERVED_PORTS = (15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090)


def as_int(value):
    """An int from an int or a digit string (inventory and survey values arrive as strings); None for
    anything else, booleans included."""
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        return int(value.strip())
    return None if isinstance(value, bool) or not isinstance(value, int) else int(value)


def is_dns1123_label(value):
    """A Kubernetes namespace / label-form name: lower-case, <= 63 chars."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_LABEL
        and _DNS1123_LABEL.match(value) is not None
    )


def is_dns1035_label(value):
    """A Kubernetes Service name: a DNS-1123 label starting with a letter."""
    return is_dns1123_label(value) and _DNS1035_LABEL.match(value) is not None


def is_dns1123_subdomain(value):
    """Dot-separated DNS-1123 labels, <= 253 chars in total."""
    if not isinstance(value, str) or not value or len(value) > MAX_SUBDOMAIN:
        return False
    return all(is_dns1123_label(label) for label in value.split("."))


def is_label_value(value):
    """A Kubernetes label value (may be empty)."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_LABEL
        and _LABEL_VALUE.match(value) is not None
    )


def is_label_key(value):
    """A Kubernetes label key: optional ``<dns subdomain>/`` prefix + name."""
    if not isinstance(value, str):
        return False
    prefix, slash, name = value.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= MAX_LABEL and _LABEL_NAME.match(name) is not None


def is_ip(text):
    if not isinstance(text, str):
        return False
    for parse in (ipaddress.ip_address, lambda t: ipaddress.ip_network(t, strict=False)):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def host_error(host):
    """Why ``host`` cannot be an external host, or None."""
    if not isinstance(host, str):
        return "must be a DNS name such as 'api.example.com', got {0!r}".format(host)
    name = host.lower()
    if is_ip(name):
        return ("{0!r} is an IP address: Istio matches hosts by name; give the "
                "service a name and list the IP under 'addresses'".format(host))
    if name == "*":
        return "a bare '*' would match every external host; name a domain, e.g. '*.example.com'"
    if "*" in name:
        rest = name[2:]
        if not name.startswith("*.") or "*" in rest:
            return "{0!r}: a wildcard is only allowed as a leading '*.' (e.g. '*.example.com')".format(host)
        if "." not in rest:
            return "{0!r}: a wildcard must be followed by a domain of 2 or more labels (e.g. '*.example.com')".format(host)
        name = rest
    if name.endswith(".") and is_dns1123_subdomain(name[:-1]):
        return "{0!r}: drop the trailing '.'".format(host)
    if len(host) > 253:
        return "{0!r} is {1} characters long; a DNS name has at most 253".format(host, len(host))
    if not is_dns1123_subdomain(name):
        return "{0!r} is not a valid DNS name ({1})".format(host, _DNS_RULE)
    return None


# A host's owner digest names its ServiceEntry and each of its routes: compute it once.
@functools.lru_cache(maxsize=16384)
def digest(*parts):
    """Short stable hex digest; parts are joined by '/', which no host,
    namespace or label value contains, so ('a/b', 'c') cannot alias ('a', 'b/c')
    in practice."""
    data = "/".join(parts).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


def slug(value):
    """Readable DNS-1123 fragment of a host or owner (not unique on its own)."""
    text = value.lower()
    if text.startswith("*."):
        text = "wildcard-" + text[2:]
    text = _NON_SLUG.sub("-", text).strip("-")
    return text or "x"


def _join(prefix, digest_hex):
    room = MAX_LABEL - len(digest_hex) - 1
    head = prefix[:room].rstrip("-")
    return "{0}-{1}".format(head, digest_hex) if head else digest_hex


def virtual_service_name(host):
    return _join(slug(host), digest(host))


def service_entry_name(owner, host):
    return _join(slug(host), digest(owner, host))


def shared_name(owner):
    """Name of the owner's Gateway and of its egress DestinationRule."""
    return _join("{0}-{1}".format(SHARED_PREFIX, slug(owner)), digest(owner))


def gateway_name(owner):
    return shared_name(owner)


def destination_rule_name(owner):
    return shared_name(owner)


def route_name(owner, host, leg, port):
    """Name of one HTTP route; ``leg`` is 'mesh' (sidecar -> egress gateway)
    or 'gateway' (egress gateway -> external host)."""
    return "meshops-{0}-{1}-{2}".format(digest(owner, host), leg, int(port))


def port_name(protocol, number):
    """ServiceEntry / Gateway port name; the protocol prefix is also Istio's
    port-name protocol convention."""
    return "{0}-{1}".format(protocol.lower(), int(number))


def subset_name(host):
    """The egress gateway subset of one host (sidecar -> gateway mutual TLS
    with the host as SNI); a DNS-1123 label, as Istio requires of subsets."""
    return _join(slug(host), digest("subset", host))


def host_destination_rule_name(owner, host):
    """The DestinationRule of an external host (TLS origination at the gateway)."""
    return service_entry_name(owner, host)


def authorization_policy_name(owner, host):
    return _join("authz-" + slug(host), digest(owner, "authz", host))


def allow_policy_name(owner):
    """The AuthorizationPolicy that keeps the unrestricted hosts open."""
    return _join("meshops-allow-" + slug(owner), digest(owner, "allow"))


def deny_policy_name(owner):
    """The allow-nothing AuthorizationPolicy of external_services_default_deny."""
    return _join("meshops-deny-" + slug(owner), digest(owner, "deny"))


def network_policy_name(owner):
    return _join("{0}-{1}".format(SHARED_PREFIX, slug(owner)), digest(owner, "netpol"))


def server_port_name(protocol, number, host=None):
    """Gateway server port name; a server of its own for one host (mutual
    TLS terminated at the gateway, routed by SNI) carries the host's digest,
    as Istio wants port names unique within a Gateway."""
    name = port_name(protocol, number)
    return "{0}-{1}".format(name, digest("server", host)) if host else name


# An error that names its input by key: ``key: ...``, ``key[2]: ...``, ``key[2].field: ...``.
_LEADING_KEY = re.compile(r"^([a-z_]+)(\[[0-9]+\])?((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)(: | )")
# Another input, named inside a message: `key`.
_QUOTED_KEY = re.compile(r"`([a-z_]+)`")


def name_errors(errors, names=None, note_key=False):
    """``errors`` of a function that names its inputs by their keys, each led
    instead by what ``names`` calls that key (the caller's option, or a
    role's variable: the role layer passes the names, module_utils knows
    none); a key quoted as `key` inside a message is named the same way.
    ``note_key``: add ``(setting key)`` where the name does not end in it."""
    names = names or {}
    named = []
    for error in errors:
        match = _LEADING_KEY.match(error)
        if match and match.group(1) in names:
            key, name = match.group(1), names[match.group(1)]
            note = " (setting {0})".format(key) if note_key and not name.endswith(key) else ""
            error = "{0}{1}{2}{3}{4}{5}".format(name, match.group(2) or "", match.group(3), note, match.group(4), error[match.end():])
        named.append(_QUOTED_KEY.sub(lambda m: names.get(m.group(1), m.group(1)), error))
    return named
