"""Cluster set-up for tests, through the API as the fixture's admin."""
from control_plane.injector import PROXY_IMAGE

GATEWAY_LABELS = {"app": "istio-egressgateway", "istio": "egressgateway"}


def create_egress_gateway(server, namespace="istio-system", name="istio-egressgateway", replicas=1):
    """What istioctl's demo profile installs: the gateway Deployment (the proxy image itself)
    and Service."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": GATEWAY_LABELS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": GATEWAY_LABELS},
            "template": {
                "metadata": {"labels": GATEWAY_LABELS},
                "spec": {"containers": [{"name": "istio-proxy", "image": PROXY_IMAGE}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": GATEWAY_LABELS},
        "spec": {
            "selector": GATEWAY_LABELS,
            "ports": [
                {"name": "http2", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 8443},
            ],
        },
    }
    server.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % namespace, deployment)
    server.request("POST", "/api/v1/namespaces/%s/services" % namespace, service)
    # No Deployment controller or kubelet runs: report it rolled out, as they would.
    server.mark_rolled_out(namespace, name)


MESH_CONFIG = """accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
"""


def install_istio(server, namespace="istio-system"):
    """What an Istio install with the demo profile leaves that the roles read:
    the mesh ConfigMap of istiod and the egress gateway."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": namespace, "labels": {"istio.io/rev": "default"}},
        "data": {"mesh": MESH_CONFIG, "meshNetworks": "networks: {}\n"},
    }
    server.request("POST", "/api/v1/namespaces/%s/configmaps" % namespace, config_map)
    create_egress_gateway(server, namespace)


def create_gateway_pod(server, namespace="istio-system", name="istio-egressgateway-0", ip="10.244.0.10"):
    """A Running egress gateway Pod on the stand-in node, with its injected proxy, as the
    ReplicaSet controller, the injector, the scheduler and the kubelet would leave one (none
    run here): Istio's analyzers look for the pods a Gateway selects, verify for their logs."""
    server.request("POST", "/api/v1/namespaces/%s/pods" % namespace, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": GATEWAY_LABELS,
                     "annotations": {"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'}},
        "spec": {"containers": [{"name": "istio-proxy", "image": PROXY_IMAGE}]}})
    pod = server.kubelet.bind(namespace, name)
    pod["status"] = {"phase": "Running", "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
                     "conditions": [{"type": "Ready", "status": "True"}]}
    server.request("PUT", "/api/v1/namespaces/%s/pods/%s/status" % (namespace, name), pod)
