"""URL paths to API routes, and routes plus HTTP methods to verbs."""
from dataclasses import dataclass

from .errors import no_route


@dataclass
class Route:
    resource: object  # resources.ResourceType
    namespace: str = None
    name: str = None
    subresource: str = None


def split(path):
    return [p for p in path.split("?", 1)[0].split("/") if p]


def is_discovery(parts):
    return (parts in (["version"], ["api"], ["apis"], ["api", "v1"])
            or (len(parts) in (2, 3) and parts[0] == "apis"))


def resource_route(registry, parts):
    """Route for /api/v1/... or /apis/<group>/<version>/...; raises 404."""
    if len(parts) > 2 and parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) > 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise no_route()
    namespace = None
    # "namespaces/<ns>/<plural>" is a namespaced collection only when <plural>
    # is a namespaced resource; else it is the namespace's own subresource.
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = registry.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise no_route()
    resource = registry.lookup(group, version, rest[0])
    if resource is None:
        raise no_route()
    route = Route(resource, namespace, *rest[1:])
    if route.subresource is not None and route.subresource not in resource.subresources:
        raise no_route()
    if (namespace is None and resource.namespaced and route.name is not None) or \
            (namespace is not None and not resource.namespaced):
        raise no_route()
    return route


def verb(method, route):
    """Kubernetes verb of a request (as in audit logs and RBAC)."""
    if method == "GET":
        return "get" if route.name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if route.name else "deletecollection"
    return method.lower()
