# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Render normalised external hosts into the objects of Istio's egress
gateway tasks (https://istio.io/latest/docs/tasks/traffic-management/egress/).

Per host: a ServiceEntry (and one for the ``served_by`` server of a
wildcard). Shared by the hosts that go through the gateway, per owner: one
Gateway (a server per port/protocol listing those hosts) and one
DestinationRule for the egress gateway service (the subsets the mesh routes
name). Per host with TLS origination: its own DestinationRule. Per
via-gateway host: the routes of its VirtualService, returned as the input of
the VirtualService merge module, since that object is shared and merged into
the live one rather than owned. How each port crosses the gateway is
``render_routes``'; AuthorizationPolicies and NetworkPolicies are
``render_policy``'s.

Everything here is a pure function of its arguments; output is sorted so that
the same input always renders the same objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible_collections.meshops.istio_egress.plugins.module_utils._host_rules import gateway_protocol
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import (
    destination_rule_name, gateway_name, host_destination_rule_name, is_dns1035_label, is_dns1123_label,
    is_dns1123_subdomain, is_label_key, is_label_value, name_errors, port_name, service_entry_name,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import owner_labels
from ansible_collections.meshops.istio_egress.plugins.module_utils._preflight import (
    combination_errors, gateway_port_errors, needed_ports, warnings,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._render_policy import (
    DNS_NAMESPACE, authorization_policies, network_policies,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._render_routes import (
    gateway_destination_rule_spec, gateway_ports, gateway_spec, host_destination_rule_spec, legs,
    virtual_service,
)

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
    # Sidecar -> gateway mutual TLS for HTTP and TCP (and TLS with allowed_sources).
    "gateway_mtls": True,
    # An allow-nothing AuthorizationPolicy at the gateway: unlisted sources are refused.
    "default_deny": False,
    # Namespaces whose pods may only reach the control plane, the gateway and DNS.
    "enforce_namespaces": (),
    # The mesh's trust domain, in the principals of allowed service accounts.
    "trust_domain": "cluster.local",
    "control_plane_namespace": "istio-system",
    # The gateway Service's ports (numbers or Service port dicts), when known.
    "gateway_service_ports": None,
}
BOOLEAN_SETTINGS = ("gateway_mtls", "default_deny")
KINDS = ("ServiceEntry", "Gateway", "DestinationRule", "VirtualService")
_TRUE, _FALSE = ("true", "yes"), ("false", "no")
_NAMESPACE_RULE = "DNS-1123 label: 1-63 chars of a-z, 0-9 and '-', starting and ending alphanumeric"


def resolve_settings(settings):
    """``settings`` over the defaults; None means "use the default";
    "true"/"false" strings (extra vars, surveys) become booleans."""
    resolved = dict(DEFAULT_SETTINGS)
    resolved.update((k, v) for k, v in (settings or {}).items() if v is not None)
    for key in BOOLEAN_SETTINGS:
        value = resolved.get(key)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            resolved[key] = value.strip().lower() in _TRUE
    return resolved


def _unknown_settings(settings):
    errors = []
    for key in settings:
        if key not in DEFAULT_SETTINGS:
            close = difflib.get_close_matches(str(key), list(DEFAULT_SETTINGS), n=1)
            errors.append("{0}: unknown setting; known: {1}{2}".format(
                key, ", ".join(sorted(DEFAULT_SETTINGS)),
                "; did you mean '{0}'?".format(close[0]) if close else ""))
    return errors


def _security_errors(settings):
    """The security settings: mutual TLS, default deny, enforced namespaces."""
    errors = []
    for key in BOOLEAN_SETTINGS:
        if not isinstance(settings.get(key), bool):
            errors.append("{0}: must be a boolean, got {1!r}".format(key, settings.get(key)))
    for key in ("trust_domain",):
        if not is_dns1123_subdomain(settings.get(key)):
            errors.append("{0}: {1!r} is not a valid trust domain (a DNS name)".format(key, settings.get(key)))
    if not is_dns1123_label(settings.get("control_plane_namespace")):
        errors.append("control_plane_namespace: {0!r} is not a valid namespace name ({1})".format(
            settings.get("control_plane_namespace"), _NAMESPACE_RULE))
    namespaces = settings.get("enforce_namespaces")
    if not isinstance(namespaces, (list, tuple)):
        errors.append("enforce_namespaces: must be a list of namespace names, got {0!r}".format(namespaces))
        namespaces = []
    # The gateway reaches the outside, DNS resolves it: never lock them in.
    exempt = {DNS_NAMESPACE: "the cluster DNS's namespace: it must reach upstream resolvers",
              settings.get("control_plane_namespace"): "the control plane's namespace"}
    exempt[settings.get("gateway_namespace")] = "the egress gateway's namespace: its pods must reach the external hosts"
    for index, namespace in enumerate(namespaces):
        where = "enforce_namespaces[{0}]".format(index)
        if not is_dns1123_label(namespace):
            errors.append("{0}: {1!r} is not a valid namespace name ({2})".format(where, namespace, _NAMESPACE_RULE))
        elif namespace in exempt:
            errors.append("{0}: {1!r} is {2}; a NetworkPolicy that only allows egress to the mesh would cut it "
                          "off; list the application namespaces".format(where, namespace, exempt[namespace]))
    ports = settings.get("gateway_service_ports")
    if ports is not None and (not isinstance(ports, (list, tuple)) or not all(
            isinstance(p, (int, str, dict)) and not isinstance(p, bool) for p in ports)):
        errors.append("gateway_service_ports: must be the gateway Service's ports (a list of numbers or of "
                      "Service port dicts), got {0!r}".format(ports))
    return errors


def validate_settings(settings):
    """Every error in the (resolved) rendering settings, as strings."""
    if not isinstance(settings, dict):
        return ["settings: must be a dict, got {0}".format(type(settings).__name__)]
    errors = _unknown_settings(settings)
    owner = settings.get("owner")
    if not owner or not is_label_value(owner):
        errors.append("owner: {0!r} is not a valid ownership set name (a label value: 1-63 chars "
                      "of A-Z, a-z, 0-9, '-', '_', '.', starting and ending alphanumeric)".format(owner))
    for key in ("namespace", "gateway_namespace"):
        if not is_dns1123_label(settings.get(key)):
            errors.append("{0}: {1!r} is not a valid namespace name ({2})".format(
                key, settings.get(key), _NAMESPACE_RULE))
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
    return errors + _security_errors(settings)


def gateway_fqdn(settings):
    return "{0}.{1}.svc.{2}".format(
        settings["gateway_service"], settings["gateway_namespace"], settings["cluster_domain"])


def _object(kind, name, settings, spec, namespace=None, api_version=None):
    # Fresh label dicts per object: a YAML dumper would turn shared ones into anchors.
    return {
        "apiVersion": api_version or settings["api_version"],
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace or settings["namespace"],
                     "labels": owner_labels(settings["owner"])},
        "spec": spec,
    }


def _service_entry(host, settings, ports=None, resolution=None):
    spec = {"hosts": [host["host"]]}
    if host["addresses"]:
        spec["addresses"] = list(host["addresses"])
    spec["resolution"] = resolution or host["resolution"]
    spec["ports"] = [_service_entry_port(p, spec["resolution"]) for p in ports or host["ports"]]
    spec["location"] = "MESH_EXTERNAL"
    if host["endpoints"]:
        spec["endpoints"] = [_endpoint(e) for e in host["endpoints"]]
    return _object("ServiceEntry", service_entry_name(settings["owner"], host["host"]), settings, spec)


def _service_entry_port(port, resolution):
    protocol = port["protocol"]
    if resolution == "DYNAMIC_DNS":
        # Istio takes DYNAMIC_DNS on HTTP, HTTP2, GRPC and TLS ports only; a ServiceEntry's
        # HTTPS port is the client's TLS passed through by SNI, which is what TLS declares.
        protocol = gateway_protocol(protocol)
    rendered = {"number": port["number"], "name": port_name(protocol, port["number"]), "protocol": protocol}
    if port.get("target_port"):
        rendered["targetPort"] = port["target_port"]
    return rendered


def _origination(host):
    """TLS origination: the app's HTTP ports, each reaching the host's
    origination port (``targetPort``), as in Istio's TLS origination task.
    The origination port itself is no port of the ServiceEntry, so sidecars
    cannot reach the host on it around the egress gateway. An endpoint port
    given for the origination port's name applies to each of those ports."""
    origination = host["origination_port"]
    ports = [dict(p, target_port=origination) for p in host["ports"]]
    named = port_name("HTTPS", origination)
    endpoints = []
    for endpoint in host["endpoints"]:
        mapped = dict(endpoint["ports"])
        if named in mapped:
            number = mapped.pop(named)
            mapped.update((port_name(p["protocol"], p["number"]), number) for p in host["ports"])
        endpoints.append({"address": endpoint["address"], "ports": mapped})
    return ports, dict(host, endpoints=endpoints)


def _endpoint(endpoint):
    rendered = {"address": endpoint["address"]}
    if endpoint["ports"]:
        rendered["ports"] = dict(sorted(endpoint["ports"].items()))
    return rendered


def _service_entries(hosts, settings):
    """One per host (TLS origination: its HTTP ports reach the origination
    port); each served_by server gets one with its wildcards' ports."""
    entries, servers = [], {}
    for host in hosts:
        ports = host["ports"]
        if host["tls_origination"]:
            ports, host = _origination(host)
        entries.append((host["host"], _service_entry(host, settings, ports)))
        if host["served_by"]:
            merged = servers.setdefault(host["served_by"], {})
            merged.update((p["number"], p["protocol"]) for p in host["ports"])
    for server, ports in servers.items():
        item = {"host": server, "addresses": [], "endpoints": []}
        entries.append((server, _service_entry(item, settings, [
            {"number": n, "protocol": p} for n, p in sorted(ports.items())], "DNS")))
    return [entry for dummy, entry in sorted(entries, key=lambda e: e[0])]


def _policy_objects(stubs, settings):
    return [_object(s["kind"], s["name"], settings, s["spec"], s["namespace"], s["api_version"]) for s in stubs]


def render(hosts, settings):
    """Objects and VirtualService routes for normalised ``hosts`` (output of
    ``hosts.normalize_hosts``), in one pass; raises ValueError on invalid
    settings (see ``DEFAULT_SETTINGS``; ``owner`` is required), on hosts
    they cannot serve (``preflight.combination_errors``) and, when
    ``gateway_service_ports`` is known, on ports the gateway Service lacks
    (``preflight.gateway_port_errors``).

    Returns a dict:

    - ``objects``: full definitions: the ServiceEntries sorted by host, then,
      when any host goes via the gateway, the Gateway and the gateway's
      DestinationRule, the DestinationRules of TLS origination (by host), the
      AuthorizationPolicies (gateway namespace) and the NetworkPolicies (one
      per enforced namespace);
    - ``virtual_services``: per via-gateway host ``name``, ``namespace``,
      ``hosts``, ``gateways`` and the non-empty ones of ``http``/``tls``/``tcp``;
    - ``gateway_ports``: ``[{number, protocol}]``, the ports the gateway
      Service must expose (the egress_gateway role's ``egress_gateway_extra_ports``);
    - ``warnings``: what works as declared but probably is not what was meant;
    - ``summary``: counts of ``hosts``, ``via_gateway``, ``direct`` hosts and
      ``objects`` per kind (the four Istio networking kinds always, others
      when rendered).
    """
    settings = resolve_settings(settings)
    errors = validate_settings(settings)
    if errors:
        raise ValueError("invalid render settings:\n" + "\n".join(errors))
    errors = name_errors(combination_errors(hosts, settings))
    if errors:
        raise ValueError("the hosts cannot be rendered with these settings:\n" + "\n".join(errors))
    if settings["gateway_service_ports"] is not None:
        # The gateway Service's ports are known: refuse what it cannot carry.
        errors = gateway_port_errors(needed_ports(hosts), settings["gateway_service_ports"])
        if errors:
            raise ValueError("the egress gateway Service cannot carry these hosts; nothing was changed:\n"
                             + "\n".join(errors))
    return render_valid(hosts, settings)


def render_valid(hosts, settings):
    """``render`` of inputs already checked (``_plan.plan_hosts``): normalised
    ``hosts`` that ``combination_errors`` and ``gateway_port_errors`` passed,
    resolved ``settings`` that ``validate_settings`` passed."""
    gateway, fqdn = gateway_name(settings["owner"]), gateway_fqdn(settings)
    hosts = sorted(hosts, key=lambda h: h["host"])
    objects = _service_entries(hosts, settings)
    all_legs = [(h["host"], legs(h, settings)) for h in hosts if h["via_gateway"]]
    by_name = dict((h["host"], h) for h in hosts)
    virtual_services = [virtual_service(by_name[name], host_legs, settings, gateway, fqdn)
                        for name, host_legs in all_legs]
    if all_legs:
        objects.append(_object("Gateway", gateway, settings, gateway_spec(all_legs, settings)))
        objects.append(_object("DestinationRule", destination_rule_name(settings["owner"]), settings,
                               gateway_destination_rule_spec(all_legs, settings, fqdn)))
    objects += [_object("DestinationRule", host_destination_rule_name(settings["owner"], h["host"]), settings,
                        host_destination_rule_spec(h, settings)) for h in hosts if h["tls_origination"]]
    objects += _policy_objects(authorization_policies(all_legs, by_name, settings), settings)
    objects += _policy_objects(network_policies(settings), settings)
    counts = dict((kind, 0) for kind in KINDS)
    for obj in objects:
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    counts["VirtualService"] = len(virtual_services)
    summary = {"hosts": len(hosts), "via_gateway": len(virtual_services),
               "direct": len(hosts) - len(virtual_services), "objects": counts}
    return {"objects": objects, "virtual_services": virtual_services, "gateway_ports": gateway_ports(all_legs),
            "warnings": name_errors(warnings(hosts, settings)), "summary": summary}
