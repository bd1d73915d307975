# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The egress gateway's objects, as Istio's ``istio/gateway`` Helm chart renders them.

``definitions`` returns what ``helm template istio/gateway`` renders for an
egress gateway (ServiceAccount, Role/RoleBinding for credentialName secrets,
Deployment injected with the ``gateway`` template, ClusterIP Service, HPA and,
with more than one replica, a PodDisruptionBudget), from our own data so no
chart or helm binary is needed. ``istio_operator`` is the same gateway as an
``istioctl install`` overlay. ``manager`` tells which installer owns a live
gateway Deployment, so an install mode only ever maintains its own gateway.

Pure functions; every input error is reported at once as a ``ValueError``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import plain_copy
from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import (
    ISTIO_RESERVED_PORTS,
    as_int,
    name_errors,
    is_dns1035_label,
    is_dns1123_label,
    is_label_key,
    is_label_value,
    port_name,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils._ownership import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    OWNER_LABEL,
)

# The chart's defaults (manifests/charts/gateway/values.yaml).
DEFAULT_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "2000m", "memory": "1024Mi"},
}
POD_ANNOTATIONS = {
    "prometheus.io/port": "15020",
    "prometheus.io/scrape": "true",
    "prometheus.io/path": "/stats/prometheus",
    # The injector replaces "image: auto" with the proxy, using the gateway template.
    "inject.istio.io/templates": "gateway",
}
STATUS_PORT = 15021
READINESS_PROBE = {
    "failureThreshold": 30,
    "httpGet": {"path": "/healthz/ready", "port": STATUS_PORT, "scheme": "HTTP"},
    "initialDelaySeconds": 1,
    "periodSeconds": 2,
    "successThreshold": 1,
    "timeoutSeconds": 1,
}
# The ports every egress gateway Service exposes; extra ports come on top.
BASE_PORTS = (
    {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
)
PORT_PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP", "GRPC", "HTTP2")
INSTALL_MODES = ("none", "manifest", "helm", "istioctl")
ISTIOCTL_TARGET_PORTS = {80: 8080, 443: 8443}
PROMETHEUS_PORT = {"containerPort": 15090, "protocol": "TCP", "name": "http-envoy-prom"}


def _port_number(value):
    number = as_int(value)
    return number if number is not None and 1 <= number <= 65535 else None


def _extra_port(item, where):
    """One extra port as a Service port, or (None, error)."""
    if not isinstance(item, dict):
        item = {"number": item}
    unknown = sorted(set(item) - {"number", "protocol", "name"})
    if unknown:
        return None, "{0}: unknown key(s) {1}; allowed: number, protocol, name".format(where, ", ".join(unknown))
    number = _port_number(item.get("number"))
    if number is None:
        return None, "{0}.number: must be an integer 1-65535, got {1!r}".format(where, item.get("number"))
    if number in ISTIO_RESERVED_PORTS:
        return None, "{0}.number: {1} is reserved by the Istio proxy ({2})".format(
            where, number, ", ".join(str(p) for p in ISTIO_RESERVED_PORTS))
    protocol = str(item.get("protocol") or "TCP").upper()
    if protocol not in PORT_PROTOCOLS:
        return None, "{0}.protocol: must be one of {1}, got {2!r}".format(where, ", ".join(PORT_PROTOCOLS), item.get("protocol"))
    # Istio reads a Service port's protocol from its name prefix.
    name = item.get("name") or port_name(protocol, number)
    if not is_dns1123_label(name):
        return None, "{0}.name: {1!r} is not a valid port name (a lower-case DNS label)".format(where, name)
    return {"name": name, "port": number, "protocol": "TCP", "targetPort": number}, None


def service_ports(extra_ports=None):
    """The Service ports: http2 80, https 443, then ``extra_ports`` sorted.

    An extra port is an int (TCP), or a dict ``{number, protocol, name}`` as
    in ``external_services_hosts``; ports 80 and 443 and repeats of one port
    are merged, so callers may pass every port their hosts use. Raises
    ValueError listing every bad item.
    """
    ports = dict((p["port"], dict(p)) for p in BASE_PORTS)
    base_numbers = set(ports)
    errors = []
    if extra_ports is None:
        extra_ports = []
    if not isinstance(extra_ports, list):
        raise ValueError("extra_ports: must be a list, got {0}".format(type(extra_ports).__name__))
    for index, item in enumerate(extra_ports):
        port, error = _extra_port(item, "extra_ports[{0}]".format(index))
        if error:
            errors.append(error)
            continue
        number = port["port"]
        if number in base_numbers:
            continue
        if number in ports and ports[number]["name"] != port["name"]:
            errors.append("extra_ports[{0}]: port {1} is also given as {2!r}; one port, one name".format(
                index, number, ports[number]["name"]))
            continue
        ports[number] = port
    names = {}
    for port in ports.values():
        if port["name"] in names and names[port["name"]] != port["port"]:
            errors.append("extra_ports: port name {0!r} is used by ports {1} and {2}".format(
                port["name"], names[port["name"]], port["port"]))
        names[port["name"]] = port["port"]
    if errors:
        raise ValueError("\n".join(errors))
    return [ports[number] for number in sorted(ports)]


def _normalise(settings):
    """(settings with defaults applied and numbers coerced, errors)."""
    result = dict(settings)
    errors = []
    name = result.get("name")
    if not is_dns1035_label(name):
        errors.append("name: {0!r} is not a valid Service name (DNS-1035 label)".format(name))
    if not is_dns1123_label(result.get("namespace")):
        errors.append("namespace: {0!r} is not a valid namespace name".format(result.get("namespace")))
    selector = result.get("selector")
    if not isinstance(selector, dict) or not selector:
        errors.append("selector: must be a non-empty dict of labels, got {0!r}".format(selector))
    else:
        for key, value in sorted(selector.items()):
            if not is_label_key(key) or not isinstance(value, str) or not is_label_value(value):
                errors.append("selector: {0!r}: {1!r} is not a valid label".format(key, value))
    result["revision"] = result.get("revision") or ""
    if not is_label_value(result["revision"]):
        errors.append("revision: {0!r} is not a valid label value".format(result["revision"]))
    for key, default in (("min_replicas", 1), ("max_replicas", 5), ("cpu_target", 80)):
        result[key] = as_int(result.get(key, default))
    if result["min_replicas"] is None or result["min_replicas"] < 1:
        errors.append("min_replicas: must be an integer >= 1, got {0!r}".format(settings.get("min_replicas")))
    elif result["max_replicas"] is None or result["max_replicas"] < result["min_replicas"]:
        errors.append("max_replicas: must be an integer >= `min_replicas` ({0}), got {1!r}".format(
            result["min_replicas"], settings.get("max_replicas")))
    if result["cpu_target"] is None or not 1 <= result["cpu_target"] <= 100:
        errors.append("cpu_target: must be a percentage 1-100, got {0!r}".format(settings.get("cpu_target")))
    resources = result.get("resources")
    if resources is not None and not isinstance(resources, dict):
        errors.append("resources: must be a dict (requests, limits), got {0!r}".format(resources))
    result["resources"] = plain_copy(resources or DEFAULT_RESOURCES)
    try:
        result["ports"] = service_ports(result.get("extra_ports"))
    except ValueError as exc:
        errors.extend(str(exc).splitlines())
    return result, errors


def validate(settings, names=None):
    """Every error in the gateway settings, as strings, each led by the
    setting's key or by what ``names`` calls it (a role's variable)."""
    return name_errors(_normalise(settings)[1], names)


def _checked(settings):
    result, errors = _normalise(settings)
    if errors:
        raise ValueError("invalid egress gateway settings:\n" + "\n".join(errors))
    return result


def selector_labels(name, selector):
    """Pod labels the Deployment, Service and PDB select on: the chart's
    ``app: <name>`` plus the selector the Istio Gateway objects use."""
    labels = {"app": name}
    labels.update(selector)
    return labels


def _meta(kind, api_version, settings, labels):
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": settings["name"], "namespace": settings["namespace"], "labels": dict(labels)},
    }


def _deployment(settings, labels, selector):
    pod_labels = {"sidecar.istio.io/inject": "true"}
    if settings["revision"]:
        pod_labels["istio.io/rev"] = settings["revision"]
    pod_labels.update(selector)
    pod_labels["app.kubernetes.io/name"] = settings["name"]
    container = {
        "name": "istio-proxy",
        "image": "auto",
        "securityContext": {
            "capabilities": {"drop": ["ALL"]},
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsUser": 1337,
            "runAsGroup": 1337,
            "runAsNonRoot": True,
        },
        "ports": [
            dict(PROMETHEUS_PORT),
            {"containerPort": STATUS_PORT, "protocol": "TCP", "name": "status-port"},
        ],
        "resources": plain_copy(settings["resources"]),
        "readinessProbe": plain_copy(READINESS_PROBE),
    }
    obj = _meta("Deployment", "apps/v1", settings, labels)
    # No spec.replicas: the HPA owns the replica count, as in the chart.
    obj["spec"] = {
        "selector": {"matchLabels": dict(selector)},
        "template": {
            "metadata": {"annotations": dict(POD_ANNOTATIONS), "labels": pod_labels},
            "spec": {
                "serviceAccountName": settings["name"],
                # Lets the non-root proxy bind ports 80 and 443 (Kubernetes >= 1.22).
                "securityContext": {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
                "containers": [container],
                "terminationGracePeriodSeconds": 30,
            },
        },
    }
    return obj


def definitions(settings):
    """The objects of the gateway. ``settings``: name, namespace, selector,
    revision, extra_ports, min_replicas, max_replicas, cpu_target, resources."""
    settings = _checked(settings)
    name = settings["name"]
    selector = selector_labels(name, settings["selector"])
    labels = dict(selector)
    labels["app.kubernetes.io/name"] = name

    account = _meta("ServiceAccount", "v1", settings, labels)
    role = _meta("Role", "rbac.authorization.k8s.io/v1", settings, labels)
    # The gateway reads the TLS secrets Gateway servers name in credentialName.
    role["rules"] = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]
    binding = _meta("RoleBinding", "rbac.authorization.k8s.io/v1", settings, labels)
    binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
    binding["subjects"] = [{"kind": "ServiceAccount", "name": name}]
    service = _meta("Service", "v1", settings, labels)
    service["spec"] = {"type": "ClusterIP", "ports": settings["ports"], "selector": dict(selector)}
    hpa = _meta("HorizontalPodAutoscaler", "autoscaling/v2", settings, labels)
    hpa["spec"] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": settings["min_replicas"],
        "maxReplicas": settings["max_replicas"],
        "metrics": [{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": settings["cpu_target"]}},
        }],
    }
    objects = [account, role, binding, _deployment(settings, labels, selector), service, hpa]
    if settings["min_replicas"] > 1:
        # A drain may then take replicas down to one, never to zero.
        pdb = _meta("PodDisruptionBudget", "policy/v1", settings, labels)
        pdb["spec"] = {"minAvailable": 1, "selector": {"matchLabels": dict(selector)}}
        objects.append(pdb)
    return objects


# What the manifest install owns, for pruning (a PDB goes when replicas drop to 1).
OWNED_KINDS = (
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
)


def prune_scope(namespace):
    return [{"api_version": api_version, "kind": kind, "namespace": namespace} for api_version, kind in OWNED_KINDS]


def istio_operator(settings):
    """An IstioOperator overlay that installs this gateway with istioctl."""
    settings = _checked(settings)
    name = settings["name"]
    ports = []
    for port in settings["ports"]:
        port = dict(port)
        # istioctl's gateways run unprivileged on 8080/8443 behind 80/443.
        port["targetPort"] = ISTIOCTL_TARGET_PORTS.get(port["port"], port["port"])
        ports.append(port)
    gateway = {
        "name": name,
        "namespace": settings["namespace"],
        "enabled": True,
        "label": selector_labels(name, settings["selector"]),
        "k8s": {
            "hpaSpec": {"minReplicas": settings["min_replicas"], "maxReplicas": settings["max_replicas"]},
            "resources": settings["resources"],
            "service": {"type": "ClusterIP", "ports": ports},
        },
    }
    spec = {"components": {"egressGateways": [gateway]}}
    if settings["revision"]:
        spec["revision"] = settings["revision"]
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}


def helm_values(settings):
    """Values for the ``istio/gateway`` chart that render the same gateway."""
    settings = _checked(settings)
    values = {
        "name": settings["name"],
        # The chart selects on labels.app / labels.istio and adds the rest to every object.
        "labels": dict(settings["selector"]),
        "service": {"type": "ClusterIP", "ports": settings["ports"]},
        "autoscaling": {
            "enabled": True,
            "minReplicas": settings["min_replicas"],
            "maxReplicas": settings["max_replicas"],
            "targetCPUUtilizationPercentage": settings["cpu_target"],
        },
        "resources": settings["resources"],
    }
    if settings["revision"]:
        values["revision"] = settings["revision"]
    if settings["min_replicas"] > 1:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    return values


def istioctl_install_argv(binary, files, kubeconfig=None, context=None):
    """``istioctl install -y [--kubeconfig K] [--context C] -f <file> ...``;
    later files override earlier ones. istioctl reads no K8S_AUTH_* variable,
    so the cluster is named explicitly."""
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        raise ValueError("istioctl needs istio_egress_kubeconfig as a file path, not inline content")
    argv = [binary, "install", "-y"]
    if kubeconfig:
        argv.extend(["--kubeconfig", kubeconfig])
    if context:
        argv.extend(["--context", context])
    for path in files:
        argv.extend(["-f", path])
    return argv


def token_kubeconfig(host, api_key, ca_cert=None, verify_ssl=True):
    """A kubeconfig for a Bearer Token credential (K8S_AUTH_HOST/API_KEY/
    SSL_CA_CERT/VERIFY_SSL, what AWX injects), for tools that read only
    kubeconfigs, like istioctl. The token is in the result: write it 0600."""
    if not host or not api_key:
        raise ValueError("a kubeconfig for istioctl needs both K8S_AUTH_HOST and K8S_AUTH_API_KEY")
    cluster = {"server": host}
    if ca_cert:
        cluster["certificate-authority"] = ca_cert
    if not _truthy(verify_ssl):
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ansible", "cluster": cluster}],
        "users": [{"name": "ansible", "user": {"token": api_key}}],
        "contexts": [{"name": "ansible", "context": {"cluster": "ansible", "user": "ansible"}}],
        "current-context": "ansible",
    }


def _truthy(value):
    """K8S_AUTH_VERIFY_SSL arrives as a string ("True", "false", "no", "0")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0", "n", "f", "")
    return bool(value)


def manager(deployment):
    """Who installed a live gateway Deployment: ``manifest/<owner>`` (this
    collection), ``helm/<release>``, ``istioctl``, ``other``, or ``absent``."""
    if not deployment:
        return "absent"
    metadata = deployment.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    managed_by = labels.get(MANAGED_BY_LABEL)
    if managed_by == MANAGED_BY_VALUE:
        return "manifest/{0}".format(labels.get(OWNER_LABEL, ""))
    if managed_by == "Helm":
        return "helm/{0}".format(annotations.get("meta.helm.sh/release-name", ""))
    if "operator.istio.io/component" in labels or "install.operator.istio.io/owning-resource" in labels:
        return "istioctl"
    return "other"


def expected_manager(install, owner, helm_release):
    """The ``manager`` value of a gateway that ``install`` mode maintains."""
    if install not in INSTALL_MODES:
        raise ValueError("install: must be one of {0}, got {1!r}".format(", ".join(INSTALL_MODES), install))
    return {
        "none": "",
        "manifest": "manifest/{0}".format(owner),
        "helm": "helm/{0}".format(helm_release),
        "istioctl": "istioctl",
    }[install]
