"""A stand-in for Istio's sidecar injector: a mutating admission webhook.

On a real cluster istiod serves ``/inject`` and a MutatingWebhookConfiguration
sends it every pod created in a namespace labelled ``istio-injection=enabled``;
it answers with a JSONPatch that adds the ``istio-proxy`` container. The API
server applies the patch before it stores the pod: nothing may change a pod's
containers afterwards. This stand-in answers the same AdmissionReview (v1)
over HTTPS on loopback, with a certificate from the control plane's CA, and
registers itself the way istiod's chart does: same selectors, failurePolicy
Fail. The container it adds runs nothing here (no kubelet), but the pod the
API server stores is the one a user's cluster would store.
"""
import base64
import json
from http.server import BaseHTTPRequestHandler

from .https import LoopbackServer

NAME = "istio-sidecar-injector"
PROXY_IMAGE = "docker.io/istio/proxyv2:1.24.0"


def proxy_container():
    return {"name": "istio-proxy", "image": PROXY_IMAGE, "args": ["proxy", "sidecar"],
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}]}


def injection_patch(pod):
    """The JSONPatch that adds the sidecar; with holdApplicationUntilProxyStarts the proxy goes
    first, as Istio puts it, so the application starts after it."""
    if any(c["name"] == "istio-proxy" for c in pod["spec"].get("containers", [])):
        return []
    config = pod["metadata"].get("annotations", {}).get("proxy.istio.io/config", "")
    try:
        hold = bool(json.loads(config).get("holdApplicationUntilProxyStarts")) if config else False
    except (ValueError, AttributeError):
        hold = False
    position = "0" if hold else "-"
    patch = [{"op": "add", "path": "/spec/containers/" + position, "value": proxy_container()}]
    if "annotations" not in pod["metadata"]:
        patch.append({"op": "add", "path": "/metadata/annotations", "value": {}})
    patch.append({"op": "add", "path": "/metadata/annotations/sidecar.istio.io~1status",
                  "value": json.dumps({"containers": ["istio-proxy"], "initContainers": []})})
    return patch


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # pylint: disable=invalid-name
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        request = review["request"]
        response = {"uid": request["uid"], "allowed": True}
        patch = injection_patch(request["object"]) if request.get("kind", {}).get("kind") == "Pod" else []
        if patch:
            response.update(patchType="JSONPatch", patch=base64.b64encode(json.dumps(patch).encode()).decode())
        data = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": response}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class SidecarInjectorStandin:
    """The HTTPS webhook server; ``configuration()`` is what registers it with the API server."""

    def __init__(self, ca):
        self.ca_file = ca.ca_file
        self._server = LoopbackServer(_Handler, *ca.serving("injector"), "sidecar-injector-standin")

    @property
    def url(self):
        return "https://127.0.0.1:%d/inject" % self._server.port

    def configuration(self):
        """The MutatingWebhookConfiguration istiod's chart installs (the namespace-label webhook)."""
        with open(self.ca_file, "rb") as stream:
            bundle = base64.b64encode(stream.read()).decode()
        return {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": NAME, "labels": {"app": "sidecar-injector"}},
            "webhooks": [{
                "name": "namespace.sidecar-injector.istio.io",
                "clientConfig": {"url": self.url, "caBundle": bundle},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
                "objectSelector": {"matchExpressions": [
                    {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]},
                "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "reinvocationPolicy": "Never", "timeoutSeconds": 10,
            }],
        }

    def stop(self):
        self._server.stop()
