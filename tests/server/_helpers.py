"""Helpers shared by the server's tests."""
import json


def status_of(error):
    """(code, reason, message) of a kubernetes ApiException's Status body."""
    body = json.loads(error.body)
    assert body["kind"] == "Status" and body["status"] == "Failure", body
    return body["code"], body.get("reason", ""), body["message"]


def virtual_service(name, spec=None, labels=None, namespace="default"):
    meta = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta,
            "spec": spec if spec is not None else {"hosts": ["%s.example.com" % name],
                                                   "http": [{"route": [{"destination": {"host": name}}]}]}}
