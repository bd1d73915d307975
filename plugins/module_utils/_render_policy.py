# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Who may use the egress gateway (AuthorizationPolicy) and who cannot
bypass it (NetworkPolicy).

AuthorizationPolicies (security.istio.io) live in the gateway's namespace and
select the gateway's pods. Istio's ALLOW semantics: once any ALLOW policy
selects a workload, a request is refused unless some ALLOW policy matches
it. So:

- per host with ``allowed_sources``, an ALLOW policy whose sources are the
  namespaces and service accounts listed (``from`` entries are OR'ed; the
  fields inside one source would be AND'ed), for the host's name: the Host
  header on HTTP ports (``to.operation.hosts``), the SNI of the sidecar's
  mutual TLS on the others (``when connection.sni``);
- as soon as one such policy exists, and unless ``default_deny``, one ALLOW
  policy without sources for every other host of this owner, so that
  restricting one host does not cut the others off;
- with ``default_deny``, an ALLOW policy without rules: it matches nothing,
  so everything no other policy allows is refused.

Ports (``to.operation.ports``) are the gateway pods' ports (Istio matches
the container port, not the Service port): they are set only when the
gateway Service's ports and targetPorts are known (setting
``gateway_service_ports``), else the rule is scoped by name alone.

NetworkPolicies (networking.k8s.io/v1), one per enforced namespace: egress
to the control plane and gateway namespaces and to the cluster DNS only,
as in Istio's egress gateway task, so pods cannot reach the outside except
through their sidecar and the gateway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import plain_copy
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import (
    as_int,
    allow_policy_name, authorization_policy_name, deny_policy_name, network_policy_name,
)

SECURITY_API_VERSIONS = {
    "networking.istio.io/v1": "security.istio.io/v1",
    "networking.istio.io/v1beta1": "security.istio.io/v1beta1",
    "networking.istio.io/v1alpha3": "security.istio.io/v1beta1",
}
NETWORK_POLICY_API = "networking.k8s.io/v1"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
DNS_NAMESPACE = "kube-system"


def target_ports(service_ports):
    """{Service port: container port} from the gateway Service's ports (ints,
    or dicts with port/number and targetPort); a named targetPort is not
    known here and is left out. None when the ports are not known."""
    if service_ports is None:
        return None
    result = {}
    for port in service_ports:
        if isinstance(port, dict):
            number = as_int(port.get("port", port.get("number")))
            target = as_int(port.get("targetPort", number))
        else:
            number = target = as_int(port)
        if number is not None and target is not None:
            result[number] = target
    return result


def _sources(allowed, trust_domain):
    sources = []
    if allowed["namespaces"]:
        sources.append({"source": {"namespaces": list(allowed["namespaces"])}})
    if allowed["service_accounts"]:
        principals = ["{0}/ns/{1}/sa/{2}".format(trust_domain, *account.split("/", 1))
                      for account in allowed["service_accounts"]]
        sources.append({"source": {"principals": principals}})
    return sources


def _operation(extra, ports, mapping):
    """``to`` with ``extra`` and the container ports when all are known."""
    operation = dict(extra)
    if mapping is not None and all(port in mapping for port in ports):
        operation["ports"] = [str(p) for p in sorted({mapping[port] for port in ports})]
    return [{"operation": operation}] if operation else None


def _rules(names, legs_by_name, mapping, sources=None):
    """An HTTP rule (Host header) and an SNI rule for the legs of ``names``."""
    http_hosts, http_ports, sni_hosts, sni_ports = [], set(), [], set()
    for name in names:
        for leg in legs_by_name[name]:
            if leg["mesh"] == "http":
                http_ports.add(leg["port"])
                if name not in http_hosts:
                    http_hosts += [name, name + ":*"]  # clients may add the port to the Host header
            else:
                sni_ports.add(leg["port"])
                if name not in sni_hosts:
                    sni_hosts.append(name)  # a wildcard stays '*.domain': Istio's suffix match
    rules = []
    if http_hosts:
        rule = {"from": sources} if sources else {}
        rule["to"] = _operation({"hosts": http_hosts}, http_ports, mapping)
        rules.append(rule)
    if sni_hosts:
        rule = {"from": sources} if sources else {}
        to = _operation({}, sni_ports, mapping)
        if to:
            rule["to"] = to
        rule["when"] = [{"key": "connection.sni", "values": sni_hosts}]
        rules.append(rule)
    return rules


def _policy(name, settings, rules):
    spec = {"selector": {"matchLabels": dict(settings["gateway_selector"])}, "action": "ALLOW"}
    if rules is not None:
        # Rules share their sources: fresh copies, or a YAML dump writes anchors.
        spec["rules"] = plain_copy(rules)
    return {"kind": "AuthorizationPolicy", "name": name, "namespace": settings["gateway_namespace"],
            "api_version": SECURITY_API_VERSIONS[settings["api_version"]], "spec": spec}


def authorization_policies(all_legs, hosts_by_name, settings):
    """Policy stubs ``{kind, name, namespace, api_version, spec}``; the
    caller adds the metadata every object carries."""
    owner = settings["owner"]
    restricted = [name for name, dummy in all_legs if hosts_by_name[name]["allowed_sources"]]
    if not restricted and not settings["default_deny"]:
        return []
    legs_by_name = dict(all_legs)
    mapping = target_ports(settings["gateway_service_ports"])
    policies = []
    for name in restricted:
        sources = _sources(hosts_by_name[name]["allowed_sources"], settings["trust_domain"])
        policies.append(_policy(authorization_policy_name(owner, name), settings,
                                _rules([name], legs_by_name, mapping, sources)))
    if settings["default_deny"]:
        # No rules: matches nothing, so only what another policy allows passes.
        policies.append(_policy(deny_policy_name(owner), settings, None))
    else:
        open_hosts = [name for name, dummy in all_legs if name not in restricted]
        if open_hosts:
            policies.append(_policy(allow_policy_name(owner), settings, _rules(open_hosts, legs_by_name, mapping)))
    return sorted(policies, key=lambda p: p["name"])


def _namespace_selector(namespace):
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}


def network_policies(settings):
    """Per enforced namespace: egress to the control plane and gateway
    namespaces (any port) and to DNS in kube-system (UDP and TCP 53) only."""
    mesh = sorted({settings["control_plane_namespace"], settings["gateway_namespace"]})
    spec = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [_namespace_selector(DNS_NAMESPACE)],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [_namespace_selector(namespace) for namespace in mesh]},
        ],
    }
    name = network_policy_name(settings["owner"])
    return [{"kind": "NetworkPolicy", "name": name, "namespace": namespace, "api_version": NETWORK_POLICY_API,
             "spec": plain_copy(spec)} for namespace in sorted(set(settings["enforce_namespaces"]))]
