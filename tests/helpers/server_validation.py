"""The real API server's own validation of objects a test holds.

A server-side dry-run create (``?dryRun=All``) with strict field validation
runs everything a create runs (decoding, an unknown or duplicate field refused,
defaulting, the CRD's OpenAPI schema and CEL rules or the built-in validation of
core kinds, admission) and stores nothing.
"""
import json

import kubernetes

# What the server fills in; a create must not carry it.
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


def rejections(plane, objects):
    """Dry-run create each of ``objects`` under a fresh name (its own name exists: 409);
    the server's refusals as "<kind> <namespace>/<name>: <message>", [] when it accepts all."""
    problems = []
    for obj in objects:
        meta = obj["metadata"]
        body = dict((k, v) for k, v in obj.items() if k != "status")
        body["metadata"] = dict((k, v) for k, v in meta.items() if k not in _SERVER_METADATA)
        body["metadata"]["name"] = "dry-run-" + meta["name"]
        path = collection_path(plane, obj["apiVersion"], obj["kind"], meta.get("namespace"))
        try:
            plane.request("POST", path, body)
        except kubernetes.client.ApiException as error:
            try:
                message = json.loads(error.body)["message"]
            except (TypeError, ValueError, KeyError):
                message = str(error)
            problems.append("%s %s/%s: %s" % (obj["kind"], meta.get("namespace"), meta["name"], message))
    return problems


def collection_path(plane, api_version, kind, namespace):
    """The dry-run create URL of ``kind`` in ``api_version``, from discovery."""
    base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
    [resource] = [r for r in plane.request("GET", base)["resources"] if r["kind"] == kind and "/" not in r["name"]]
    path = base + ("/namespaces/%s" % namespace if resource["namespaced"] else "")
    return "%s/%s?dryRun=All&fieldValidation=Strict" % (path, resource["name"])
