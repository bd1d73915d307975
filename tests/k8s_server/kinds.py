"""Per-kind behaviour of built-in resources: defaulting, status, validation.

Only what clients observe is emulated. Controllers and the kubelet are
replaced by instant results: a Deployment's status reports every replica
ready as soon as it is written, a Pod is Running and Ready at once, a CRD is
Established at once.
"""
import base64
import binascii
import copy
import hashlib
import json

from .errors import FieldError, bad_request
from .meta import validate_name

_POD_TEMPLATE = "spec.template.spec"


def prepare(resource, obj, old, allocate_ip):
    """Fill defaults and server-managed status of ``obj`` (a new dict) in place."""
    handler = _PREPARE.get((resource.group, resource.kind))
    if handler is not None:
        handler(obj, old, allocate_ip)


def validate(resource, obj, old):
    """Kind-specific FieldErrors (beyond ObjectMeta and decoding)."""
    handler = _VALIDATE.get((resource.group, resource.kind))
    return handler(obj, old) if handler is not None else []


# --- defaulting ---------------------------------------------------------------------------------

def _namespace(obj, old, allocate_ip):
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = (old or {}).get("status") or {"phase": "Active"}
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def _secret(obj, old, allocate_ip):
    obj.setdefault("type", "Opaque")
    data = obj.setdefault("data", {})
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                              'input byte %d' % _bad_base64_offset(value)) from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(value.encode()).decode()
    if not data:
        del obj["data"]


def _bad_base64_offset(text):
    for index, char in enumerate(text):
        if not (char.isalnum() or char in "+/="):
            return index
    return len(text)


def _service(obj, old, allocate_ip):
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or allocate_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
    obj["status"] = (old or {}).get("status") or {"loadBalancer": {}}


def _pod_spec_defaults(spec):
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        image = container.get("image", "")
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        latest = image.endswith(":latest") or not tagged
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def _pod(obj, old, allocate_ip):
    spec = obj.setdefault("spec", {})
    _pod_spec_defaults(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("nodeName", "test-node")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    if old is not None and old.get("status"):
        obj["status"] = old["status"]
        return
    started = obj["metadata"]["creationTimestamp"]
    ready = [{"type": t, "status": "True", "lastTransitionTime": started}
             for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    obj["status"] = {
        "phase": "Running", "conditions": ready, "hostIP": "10.0.0.1", "podIP": allocate_ip(pod=True),
        "startTime": started, "qosClass": "BestEffort",
        "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True,
                               "started": True, "restartCount": 0, "state": {"running": {"startedAt": started}}}
                              for c in spec.get("containers") or []],
    }


def _deployment(obj, old, allocate_ip):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("strategy", {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _pod_spec_defaults(spec.setdefault("template", {}).setdefault("spec", {}))
    obj["status"] = _ready_deployment_status(obj)


def _ready_deployment_status(obj):
    """Every replica updated, ready and available (no controllers run here)."""
    meta, replicas = obj["metadata"], obj["spec"]["replicas"]
    since = meta["creationTimestamp"]
    template = json.dumps(obj["spec"].get("template"), sort_keys=True)
    template_hash = hashlib.sha256(template.encode()).hexdigest()[:10]
    status = {"observedGeneration": meta.get("generation", 1)}
    if replicas:
        status.update(replicas=replicas, updatedReplicas=replicas, readyReplicas=replicas,
                      availableReplicas=replicas)
    status["conditions"] = [
        {"type": "Available", "status": "True", "lastUpdateTime": since, "lastTransitionTime": since,
         "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
        {"type": "Progressing", "status": "True", "lastUpdateTime": since, "lastTransitionTime": since,
         "reason": "NewReplicaSetAvailable",
         "message": 'ReplicaSet "%s-%s" has successfully progressed.' % (meta["name"], template_hash)},
    ]
    return status


def _crd(obj, old, allocate_ip):
    spec, since = obj["spec"], obj["metadata"]["creationTimestamp"]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    stored = set(((old or {}).get("status") or {}).get("storedVersions") or [])
    stored.add(next(v["name"] for v in spec["versions"] if v.get("storage")))
    obj["status"] = {
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": since, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": since,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
        "acceptedNames": names,
        "storedVersions": sorted(stored),
    }


_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_PREPARE = {("", "Namespace"): _namespace, ("", "Secret"): _secret, ("", "Service"): _service,
            ("", "Pod"): _pod, ("apps", "Deployment"): _deployment, _CRD: _crd}


# --- validation ---------------------------------------------------------------------------------

def _validate_containers(spec, path):
    containers = spec.get("containers") or []
    if not containers:
        return [FieldError(path + ".containers", "Required value")]
    errors = []
    for i, container in enumerate(containers):
        item = "%s.containers[%d]" % (path, i)
        if not container.get("name"):
            errors.append(FieldError(item + ".name", "Required value"))
        else:
            errors += [FieldError(item + ".name", "Invalid value", p, container["name"])
                       for p in validate_name(container["name"], "label")]
        if not container.get("image"):
            errors.append(FieldError(item + ".image", "Required value"))
    return errors


def _validate_pod(obj, old):
    return _validate_containers(obj.get("spec") or {}, "spec")


def _validate_deployment(obj, old):
    spec = obj.get("spec") or {}
    errors = []
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(FieldError("spec.selector", "Required value"))
    elif not _selector_matches(selector, labels):
        errors.append(FieldError("spec.template.metadata.labels", "Invalid value",
                                 "`selector` does not match template `labels`", labels))
    if old is not None and selector != (old.get("spec") or {}).get("selector"):
        errors.append(FieldError("spec.selector", "Invalid value", "field is immutable", selector))
    if spec.get("replicas", 1) < 0:
        errors.append(FieldError("spec.replicas", "Invalid value", "must be greater than or equal to 0",
                                 spec["replicas"]))
    return errors + _validate_containers((spec.get("template") or {}).get("spec") or {}, _POD_TEMPLATE)


def _selector_matches(selector, labels):
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or \
                (operator == "NotIn" and labels.get(key) in values) or \
                (operator == "Exists" and key not in labels) or \
                (operator == "DoesNotExist" and key in labels):
            return False
    return True


def _validate_service(obj, old):
    spec = obj.get("spec") or {}
    errors = []
    if spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
        errors.append(FieldError("spec.ports", "Required value"))
    for i, port in enumerate(spec.get("ports") or []):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(FieldError("spec.ports[%d].port" % i, "Invalid value",
                                     "must be between 1 and 65535, inclusive", number))
        if len(spec["ports"]) > 1 and not port.get("name"):
            errors.append(FieldError("spec.ports[%d].name" % i, "Required value"))
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    if old_ip and spec.get("clusterIP") != old_ip and spec.get("type") != "ExternalName":
        errors.append(FieldError("spec.clusterIPs[0]", "Invalid value", "may not change once set",
                                 copy.deepcopy(spec.get("clusterIPs"))))
    return errors


def _validate_crd(obj, old):
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group"), names.get("plural")
    errors = [FieldError("spec." + f, "Required value") for f, v in
              (("group", group), ("names.plural", plural), ("names.kind", names.get("kind"))) if not v]
    if group and "." not in group:
        errors.append(FieldError("spec.group", "Invalid value", "should be a domain with at least one dot", group))
    if group and plural and obj["metadata"]["name"] != "%s.%s" % (plural, group):
        errors.append(FieldError("metadata.name", "Invalid value", 'must be spec.names.plural+"."+spec.group',
                                 obj["metadata"]["name"]))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(FieldError("spec.scope", "Unsupported value", '"Cluster", "Namespaced"', spec.get("scope")))
    elif old is not None and spec["scope"] != old["spec"].get("scope"):
        errors.append(FieldError("spec.scope", "Invalid value", "field is immutable", spec["scope"]))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(FieldError("spec.versions", "Required value"))
    elif sum(bool(v.get("storage")) for v in versions) != 1:
        errors.append(FieldError("spec.versions", "Invalid value",
                                 "must have exactly one version marked as storage version",
                                 [v.get("name") for v in versions]))
    for i, version in enumerate(versions):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            errors.append(FieldError("spec.versions[%d].schema.openAPIV3Schema" % i, "Required value",
                                     "schemas are required"))
    return errors


_VALIDATE = {("", "Pod"): _validate_pod, ("apps", "Deployment"): _validate_deployment,
             ("", "Service"): _validate_service, _CRD: _validate_crd}
