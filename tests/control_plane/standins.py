"""Stand-ins for what runs on nodes, which no machine here can run: the kubelet.

The API server serves a pod's log by asking the kubelet of the pod's node.
``KubeletStandin`` registers one Node whose kubelet endpoint is a small HTTPS
server here that answers ``/containerLogs/<namespace>/<pod>/<container>`` with
the text a test set; the API server's own log endpoint, authorization and
all, sits in front of it. ``on_create`` stands in for the kubelet's (and
other controllers') status writes after an object is created, and
``roll_out_deployments`` for the Deployment controller and the kubelets
together: every Deployment is reported rolled out, all replicas ready, as
soon as its spec is seen.
"""
import threading
from http.server import BaseHTTPRequestHandler

import kubernetes

from .https import LoopbackServer

NODE = "standin-node"


class _LogHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # pylint: disable=invalid-name
        parts = self.path.split("?")[0].strip("/").split("/")
        text = None
        if len(parts) >= 3 and parts[0] == "containerLogs":
            text = self.server.standin.logs.get((parts[1], parts[2]))
        data = (text if text is not None else "").encode()
        self.send_response(200 if text is not None else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class KubeletStandin:
    def __init__(self, plane):
        self.plane = plane
        self.logs = {}
        self._hooks = []
        self._rollout = False
        self._seen = set()
        self._stop = threading.Event()
        self._thread = None
        self._server = LoopbackServer(_LogHandler, *plane.ca.serving("kubelet"), "kubelet-standin", standin=self)
        self._register_node()

    def _register_node(self):
        plane = self.plane
        plane.request("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                                "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}}})
        node = plane.request("GET", "/api/v1/nodes/" + NODE)
        node["status"] = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                          "daemonEndpoints": {"kubeletEndpoint": {"Port": self._server.port}},
                          "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "message": "a stand-in: no containers run"}]}
        plane.request("PUT", "/api/v1/nodes/%s/status" % NODE, node)

    def bind(self, namespace, name):
        """Schedule a pod onto the stand-in node, as the scheduler would."""
        pod = self.plane.request("GET", "/api/v1/namespaces/%s/pods/%s" % (namespace, name))
        if pod["spec"].get("nodeName"):
            return pod
        self.plane.request("POST", "/api/v1/namespaces/%s/pods/%s/binding" % (namespace, name), {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}})
        return self.plane.request("GET", "/api/v1/namespaces/%s/pods/%s" % (namespace, name))

    def set_log(self, namespace, name, text):
        self.logs[(namespace, name)] = text
        self.bind(namespace, name)

    def on_create(self, plural, callback):
        """After each create of a ``plural`` object (seen by polling the API every 50 ms),
        call ``callback(obj)``; a dict it returns is written back as what the node (or a
        controller) reports: its ``status`` through the status subresource, a pod bound to
        the stand-in node first. The object's spec stays as the API server stored it."""
        self._hooks.append((plural, callback))
        self._seen |= {o["metadata"]["uid"] for o in self.plane.objects(plural)}
        self._start()

    def roll_out_deployments(self):
        """From now on, report every Deployment (present or future) rolled out."""
        self._rollout = True
        self._start()

    def _start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, daemon=True, name="kubelet-standin-hooks")
            self._thread.start()

    def _watch(self):
        while not self._stop.wait(0.05):
            try:
                for plural, callback in list(self._hooks):
                    self._run_hooks(plural, callback)
                if self._rollout:
                    self._roll_out()
            except kubernetes.client.ApiException:
                pass  # deleted meanwhile: the next round sees the truth

    def _roll_out(self):
        for deployment in self.plane.objects("deployments"):
            meta, status = deployment["metadata"], deployment.get("status", {})
            replicas = deployment["spec"].get("replicas", 1)
            if status.get("observedGeneration") == meta["generation"] and status.get("readyReplicas", 0) == replicas:
                continue
            deployment["status"] = rolled_out_status(deployment)
            self.plane.request("PUT", "/apis/apps/v1/namespaces/%s/deployments/%s/status" % (meta["namespace"], meta["name"]),
                               deployment)

    def _run_hooks(self, plural, callback):
        for obj in self.plane.objects(plural):
            meta = obj["metadata"]
            if meta["uid"] in self._seen or meta.get("deletionTimestamp"):
                continue
            self._seen.add(meta["uid"])
            if plural == "pods":
                obj = self.bind(meta["namespace"], meta["name"])
                obj.setdefault("apiVersion", "v1")
                obj.setdefault("kind", "Pod")
            obj.setdefault("status", {})
            result = callback(obj)
            if isinstance(result, dict) and "status" in result:
                current = self.plane.get(plural, meta.get("namespace"), meta["name"])
                current["status"] = result["status"]
                self.plane.request("PUT", self.plane.path(plural, meta.get("namespace"), meta["name"]) + "/status",
                                   current)

    def reset(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._hooks = []
        self._rollout = False
        self.logs = {}

    def stop(self):
        self.reset()
        self._server.stop()


def rolled_out_status(deployment):
    """The status the Deployment controller writes once every replica is updated and ready."""
    replicas = deployment["spec"].get("replicas", 1)
    return {"observedGeneration": deployment["metadata"]["generation"], "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
