"""The API resources a server serves: built-in kinds plus registered CRDs."""
import re
from dataclasses import dataclass, field

from .schema import CRDIndex

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
_META_FIELDS = frozenset(("metadata.name", "metadata.namespace"))


@dataclass
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    subresources: tuple = ()  # e.g. ("status", "log")
    model: str = None  # kubernetes client model decoding built-in objects
    crd: object = None  # schema.CRDEntry for custom resources
    name_rule: str = "subdomain"  # meta.NAME_RULES key
    has_generation: bool = False
    return_deleted: bool = False  # DELETE answers the object instead of a Status
    field_selectors: frozenset = _META_FIELDS

    def __post_init__(self):
        self.singular = self.singular or self.kind.lower()

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def key(self):
        """Storage key: one copy per object whatever version it is read at."""
        return self.group, self.plural

    @property
    def is_custom(self):
        return self.crd is not None

    @property
    def status_subresource(self):
        return "status" in self.subresources


def _builtin(group, version, plural, kind, model, **options):
    return ResourceType(group, version, plural, kind, model=model, **options)


BUILTINS = [
    _builtin("", "v1", "namespaces", "Namespace", "V1Namespace", namespaced=False, short_names=["ns"],
             subresources=("status",), name_rule="label", return_deleted=True,
             field_selectors=_META_FIELDS | {"status.phase"}),
    _builtin("", "v1", "configmaps", "ConfigMap", "V1ConfigMap", namespaced=True, short_names=["cm"]),
    _builtin("", "v1", "secrets", "Secret", "V1Secret", namespaced=True, field_selectors=_META_FIELDS | {"type"}),
    _builtin("", "v1", "services", "Service", "V1Service", namespaced=True, short_names=["svc"],
             categories=["all"], subresources=("status",), name_rule="dns1035"),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", "V1ServiceAccount", namespaced=True,
             short_names=["sa"], return_deleted=True),
    _builtin("", "v1", "pods", "Pod", "V1Pod", namespaced=True, short_names=["po"], categories=["all"],
             subresources=("status", "log"), return_deleted=True,
             field_selectors=_META_FIELDS | {"spec.nodeName", "spec.serviceAccountName", "status.phase",
                                             "spec.restartPolicy", "spec.schedulerName", "status.podIP"}),
    _builtin("", "v1", "events", "Event", "CoreV1Event", namespaced=True, short_names=["ev"],
             field_selectors=_META_FIELDS | {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
                                             "involvedObject.uid", "reason", "type", "source"}),
    _builtin("apps", "v1", "deployments", "Deployment", "V1Deployment", namespaced=True, short_names=["deploy"],
             categories=["all"], subresources=("status",), has_generation=True),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", "V1Role", namespaced=True,
             name_rule="path-segment"),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", "V1RoleBinding", namespaced=True,
             name_rule="path-segment"),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "V1ClusterRole", namespaced=False,
             name_rule="path-segment"),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
             "V1ClusterRoleBinding", namespaced=False, name_rule="path-segment"),
    _builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", "V1PodDisruptionBudget",
             namespaced=True, short_names=["pdb"], subresources=("status",), has_generation=True),
    _builtin("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
             "V2HorizontalPodAutoscaler", namespaced=True, short_names=["hpa"], categories=["all"],
             subresources=("status",), has_generation=True),
    _builtin("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", "V1NetworkPolicy", namespaced=True,
             short_names=["netpol"], has_generation=True),
    _builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
             "V1CustomResourceDefinition", namespaced=False, short_names=["crd", "crds"],
             categories=["api-extensions"], subresources=("status",), has_generation=True),
]


def version_priority(version):
    """Sort key putting versions in kube-aware order: v2, v1, v1beta2, v1beta1, v1alpha1, then others."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    stability = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return (stability, -int(match.group(1)), -int(match.group(3) or 0), version)


class Registry:
    """Looks resources up by URL parts or by group/kind, and keeps CRDs."""

    def __init__(self):
        self.crds = CRDIndex()
        self._types = {}  # (group, version, plural) -> ResourceType
        self._group_order = []
        for resource in BUILTINS:
            self._add(resource)

    def _add(self, resource):
        self._types[(resource.group, resource.version, resource.plural)] = resource
        if resource.group not in self._group_order:
            self._group_order.append(resource.group)

    def lookup(self, group, version, plural):
        return self._types.get((group, version, plural))

    def by_kind(self, group, kind):
        """Every served version of a group/kind (for apiVersion checks)."""
        return [r for r in self._types.values() if r.group == group and r.kind == kind]

    def groups(self):
        """[(group, [versions, preferred first])] in discovery order, core group excluded."""
        result = []
        for group in self._group_order:
            versions = {r.version for r in self._types.values() if r.group == group}
            if group and versions:
                result.append((group, sorted(versions, key=version_priority)))
        return result

    def resources(self, group, version):
        return [r for r in self._types.values() if r.group == group and r.version == version]

    def register_crd(self, crd):
        """Serve a CRD's kinds (replacing an earlier registration of it)."""
        self.unregister_crd(crd["metadata"]["name"])
        entry = self.crds.add(crd)
        for version in entry.served:
            self._add(ResourceType(
                entry.group, version, entry.plural, entry.kind, entry.namespaced, singular=entry.singular,
                short_names=entry.short_names, categories=entry.categories, crd=entry,
                subresources=("status",) if version in entry.status_subresource else (), has_generation=True))
        return entry

    def unregister_crd(self, crd_name):
        entry = self.crds.remove(crd_name)
        if entry is not None:
            for key in [k for k, r in self._types.items() if r.crd is entry]:
                del self._types[key]
            if not any(r.group == entry.group for r in self._types.values()):
                self._group_order.remove(entry.group)
        return entry
