"""The real API server's own validation of objects a test read back from it
(``ControlPlane.dry_run_create``, after taking off what the server filled in)."""

from helpers.mesh_state import without_server_fields


def rejections(plane, objects):
    """Dry-run create each of ``objects`` (live ones too) under a fresh name (its own name
    exists: 409); the server's refusals as "<kind> <namespace>/<name>: <message>", [] when it
    accepts all."""
    problems = []
    for obj in objects:
        meta = obj["metadata"]
        body = dict((k, v) for k, v in without_server_fields(obj).items() if k != "status")
        body["metadata"]["name"] = "dry-run-" + meta["name"]
        message = plane.dry_run_create(body)
        if message:
            problems.append("%s %s/%s: %s" % (obj["kind"], meta.get("namespace"), meta["name"], message))
    return problems
