"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>.

Always the legacy (unaggregated) form: the kubernetes python client asks
for plain ``application/json``, and a server may ignore an Accept for the
aggregated ``apidiscovery.k8s.io`` form, as servers older than 1.26 do.
"""
from .errors import no_route
from .resources import VERBS

VERSION = {
    "major": "1", "minor": "34", "gitVersion": "v1.34.0", "gitCommit": "0" * 40, "gitTreeState": "clean",
    "buildDate": "2025-08-27T00:00:00Z", "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64",
}


def _group_version(group, version):
    return {"groupVersion": "%s/%s" % (group, version), "version": version}


def _group(group, versions):
    return {"name": group, "versions": [_group_version(group, v) for v in versions],
            "preferredVersion": _group_version(group, versions[0])}


def _resource_entries(resource):
    entry = {"name": resource.plural, "singularName": resource.singular, "namespaced": resource.namespaced,
             "kind": resource.kind, "verbs": VERBS}
    if resource.short_names:
        entry["shortNames"] = resource.short_names
    if resource.categories:
        entry["categories"] = resource.categories
    entries = [entry]
    for sub in resource.subresources:
        verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
        entries.append({"name": "%s/%s" % (resource.plural, sub), "singularName": "",
                        "namespaced": resource.namespaced, "kind": resource.kind, "verbs": verbs})
    return entries


def document(registry, parts, server_address):
    """Discovery answer for a path split into parts, or a 404 ApiError."""
    if parts == ["version"]:
        return VERSION
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}
    if parts == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(g, versions) for g, versions in registry.groups()]}
    groups = dict(registry.groups())
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return dict(_group(parts[1], groups[parts[1]]), kind="APIGroup", apiVersion="v1")
    if parts == ["api", "v1"]:
        group, version = "", "v1"
    elif len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], ()):
        group, version = parts[1], parts[2]
    else:
        raise no_route()
    resources = [e for r in registry.resources(group, version) for e in _resource_entries(r)]
    body = {"kind": "APIResourceList", "groupVersion": "%s/%s" % (group, version) if group else version,
            "resources": resources}
    if group:
        body["apiVersion"] = "v1"
    return body
