"""gateway: the istio/gateway chart's objects from our data, and who owns a gateway."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway as gateway
from helpers.role_vars import role_var

# What the egress_gateway role calls each setting (its messages name the role's variables).
ROLE_NAMES = role_var("egress_gateway", "egress_gateway_variable_names")

BASE = {
    "name": "istio-egressgateway",
    "namespace": "istio-system",
    "selector": {"istio": "egressgateway"},
    "revision": "",
    "extra_ports": [],
    "min_replicas": 1,
    "max_replicas": 5,
    "cpu_target": 80,
    "resources": None,
}


def settings(**changes):
    result = dict(BASE)
    result.update(changes)
    return result


def by_kind(objects):
    return dict((o["kind"], o) for o in objects)


def test_default_objects():
    objects = gateway.definitions(settings())
    assert [o["kind"] for o in objects] == [
        "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "HorizontalPodAutoscaler"]
    assert [o["apiVersion"] for o in objects] == [
        "v1", "rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1", "apps/v1", "v1", "autoscaling/v2"]
    for obj in objects:
        assert obj["metadata"]["name"] == "istio-egressgateway"
        assert obj["metadata"]["namespace"] == "istio-system"
        assert obj["metadata"]["labels"] == {
            "app": "istio-egressgateway", "istio": "egressgateway", "app.kubernetes.io/name": "istio-egressgateway"}


def test_deployment_is_the_charts():
    deployment = by_kind(gateway.definitions(settings()))["Deployment"]
    spec = deployment["spec"]
    assert "replicas" not in spec  # the HPA owns it
    assert spec["selector"] == {"matchLabels": {"app": "istio-egressgateway", "istio": "egressgateway"}}
    template = spec["template"]
    assert template["metadata"]["annotations"]["inject.istio.io/templates"] == "gateway"
    assert template["metadata"]["labels"] == {
        "sidecar.istio.io/inject": "true", "app": "istio-egressgateway", "istio": "egressgateway",
        "app.kubernetes.io/name": "istio-egressgateway"}
    pod = template["spec"]
    assert pod["serviceAccountName"] == "istio-egressgateway"
    assert pod["securityContext"] == {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]}
    [container] = pod["containers"]
    assert container["name"] == "istio-proxy" and container["image"] == "auto"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["runAsUser"] == 1337
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"containerPort": 15021, "protocol": "TCP", "name": "status-port"} in container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"}
    assert container["resources"] == gateway.DEFAULT_RESOURCES


def test_revision_labels_the_pods():
    deployment = by_kind(gateway.definitions(settings(revision="1-24-0")))["Deployment"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["istio.io/rev"] == "1-24-0"
    assert "istio.io/rev" not in by_kind(gateway.definitions(settings()))["Deployment"]["spec"]["template"]["metadata"]["labels"]


def test_service_rbac_hpa():
    objects = by_kind(gateway.definitions(settings(min_replicas=1, max_replicas=3, cpu_target=60)))
    service = objects["Service"]["spec"]
    assert service["type"] == "ClusterIP"
    assert service["selector"] == {"app": "istio-egressgateway", "istio": "egressgateway"}
    assert [(p["name"], p["port"]) for p in service["ports"]] == [("http2", 80), ("https", 443)]
    assert objects["Role"]["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]
    assert objects["RoleBinding"]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "istio-egressgateway"}
    assert objects["RoleBinding"]["subjects"] == [{"kind": "ServiceAccount", "name": "istio-egressgateway"}]
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istio-egressgateway"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    assert "PodDisruptionBudget" not in objects


@pytest.mark.parametrize("minimum,pdb", [(1, False), (2, True), ("3", True)])
def test_pdb_only_with_more_than_one_replica(minimum, pdb):
    objects = by_kind(gateway.definitions(settings(min_replicas=minimum, max_replicas=5)))
    assert ("PodDisruptionBudget" in objects) is pdb
    if pdb:
        assert objects["PodDisruptionBudget"]["apiVersion"] == "policy/v1"
        assert objects["PodDisruptionBudget"]["spec"] == {
            "minAvailable": 1, "selector": {"matchLabels": {"app": "istio-egressgateway", "istio": "egressgateway"}}}


def test_custom_selector_and_name():
    objects = by_kind(gateway.definitions(settings(name="egress", namespace="istio-egress", selector={"istio": "egress", "team": "net"})))
    assert objects["Service"]["spec"]["selector"] == {"app": "egress", "istio": "egress", "team": "net"}
    assert objects["Deployment"]["metadata"]["namespace"] == "istio-egress"


PORT_CASES = [
    # (id, extra_ports, expected (name, port) after 80 and 443)
    ("none", [], []),
    ("int", [9000], [("tcp-9000", 9000)]),
    ("digit-string", ["9000"], [("tcp-9000", 9000)]),
    ("protocol", [{"number": 8443, "protocol": "TLS"}], [("tls-8443", 8443)]),
    ("protocol-lower", [{"number": 5432, "protocol": "tcp"}], [("tcp-5432", 5432)]),
    ("named", [{"number": 27017, "name": "mongo"}], [("mongo", 27017)]),
    ("base-ports-merged", [80, {"number": 443, "protocol": "TLS"}, 3306], [("tcp-3306", 3306)]),
    ("repeats-merged", [3306, {"number": 3306, "protocol": "TCP"}], [("tcp-3306", 3306)]),
    ("sorted", [9000, 5432], [("tcp-5432", 5432), ("tcp-9000", 9000)]),
]


@pytest.mark.parametrize("extra,expected", [c[1:] for c in PORT_CASES], ids=[c[0] for c in PORT_CASES])
def test_service_ports(extra, expected):
    ports = gateway.service_ports(extra)
    assert [(p["name"], p["port"]) for p in ports] == [("http2", 80), ("https", 443)] + expected
    assert all(p["protocol"] == "TCP" for p in ports)
    assert all(p["targetPort"] == p["port"] for p in ports)


ERROR_CASES = [
    ("name", {"name": "Egress_GW"}, "egress_gateway_name: 'Egress_GW'"),
    ("name-digit", {"name": "1gw"}, "egress_gateway_name"),
    ("namespace", {"namespace": "Istio"}, "egress_gateway_namespace"),
    ("selector-empty", {"selector": {}}, "egress_gateway_selector: must be a non-empty dict"),
    ("selector-value", {"selector": {"istio": "egress gateway"}}, "is not a valid label"),
    ("selector-value-int", {"selector": {"istio": 1}}, "is not a valid label"),
    ("revision", {"revision": "1.24/x"}, "egress_gateway_revision"),
    ("min-zero", {"min_replicas": 0}, "egress_gateway_replicas_min: must be an integer >= 1"),
    ("min-text", {"min_replicas": "two"}, "egress_gateway_replicas_min"),
    ("max-below-min", {"min_replicas": 3, "max_replicas": 2}, "egress_gateway_replicas_max: must be an integer >= egress_gateway_replicas_min (3)"),
    ("cpu", {"cpu_target": 0}, "egress_gateway_cpu_target"),
    ("cpu-bool", {"cpu_target": True}, "egress_gateway_cpu_target"),
    ("resources", {"resources": "big"}, "egress_gateway_resources"),
    ("ports-not-list", {"extra_ports": 9000}, "egress_gateway_extra_ports: must be a list"),
    ("port-range", {"extra_ports": [70000]}, "egress_gateway_extra_ports[0].number: must be an integer 1-65535"),
    ("port-bool", {"extra_ports": [True]}, "egress_gateway_extra_ports[0].number"),
    ("port-reserved", {"extra_ports": [15021]}, "15021 is reserved by the Istio proxy"),
    ("port-protocol", {"extra_ports": [{"number": 9000, "protocol": "UDP"}]}, "egress_gateway_extra_ports[0].protocol"),
    ("port-key", {"extra_ports": [{"number": 9000, "proto": "TCP"}]}, "unknown key(s) proto"),
    ("port-name", {"extra_ports": [{"number": 9000, "name": "My_Port"}]}, "egress_gateway_extra_ports[0].name"),
    ("port-two-names", {"extra_ports": [9000, {"number": 9000, "protocol": "TLS"}]}, "port 9000 is also given as 'tcp-9000'"),
    ("name-two-ports", {"extra_ports": [{"number": 9000, "name": "db"}, {"number": 9001, "name": "db"}]}, "port name 'db' is used by ports"),
]


@pytest.mark.parametrize("changes,message", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors(changes, message):
    errors = gateway.validate(settings(**changes), ROLE_NAMES)
    assert any(message in error for error in errors), errors
    # Called without the role's names (the module directly), each error leads with the setting's key.
    for error in gateway.validate(settings(**changes)):
        assert error.split(":")[0].split("[")[0].split(".")[0] in BASE, error
    with pytest.raises(ValueError, match="invalid egress gateway settings"):
        gateway.definitions(settings(**changes))


def test_every_error_at_once():
    errors = gateway.validate(settings(name="X", namespace="Y", cpu_target=500, extra_ports=[0, 15090]), ROLE_NAMES)
    assert len(errors) == 5


def test_istio_operator_overlay():
    overlay = gateway.istio_operator(settings(revision="canary", min_replicas=2, extra_ports=[{"number": 8443, "protocol": "TLS"}]))
    assert overlay["apiVersion"] == "install.istio.io/v1alpha1" and overlay["kind"] == "IstioOperator"
    assert overlay["spec"]["revision"] == "canary"
    [component] = overlay["spec"]["components"]["egressGateways"]
    assert component["name"] == "istio-egressgateway" and component["enabled"] is True
    assert component["namespace"] == "istio-system"
    assert component["label"] == {"app": "istio-egressgateway", "istio": "egressgateway"}
    assert component["k8s"]["hpaSpec"] == {"minReplicas": 2, "maxReplicas": 5}
    assert component["k8s"]["service"]["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in component["k8s"]["service"]["ports"]] == [(80, 8080), (443, 8443), (8443, 8443)]
    assert "revision" not in gateway.istio_operator(settings())["spec"]


def test_helm_values():
    values = gateway.helm_values(settings(min_replicas=2, revision="canary", extra_ports=[9000]))
    assert values["name"] == "istio-egressgateway"
    assert values["labels"] == {"istio": "egressgateway"}
    assert values["service"]["type"] == "ClusterIP"
    assert [p["port"] for p in values["service"]["ports"]] == [80, 443, 9000]
    assert values["autoscaling"] == {"enabled": True, "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}
    assert values["revision"] == "canary"
    assert values["podDisruptionBudget"] == {"minAvailable": 1}
    plain = gateway.helm_values(settings())
    assert "revision" not in plain and "podDisruptionBudget" not in plain


@pytest.mark.parametrize("files,argv", [
    (["/w/gw.yaml"], ["istioctl", "install", "-y", "-f", "/w/gw.yaml"]),
    (["/mine.yaml", "/w/gw.yaml"], ["istioctl", "install", "-y", "-f", "/mine.yaml", "-f", "/w/gw.yaml"]),
])
def test_istioctl_argv(files, argv):
    assert gateway.istioctl_install_argv("istioctl", files) == argv


@pytest.mark.parametrize("ca_cert,verify_ssl,cluster", [
    ("/ca.pem", "True", {"server": "https://k:6443", "certificate-authority": "/ca.pem"}),
    (None, True, {"server": "https://k:6443"}),
    (None, "False", {"server": "https://k:6443", "insecure-skip-tls-verify": True}),
    (None, "no", {"server": "https://k:6443", "insecure-skip-tls-verify": True}),
    (None, False, {"server": "https://k:6443", "insecure-skip-tls-verify": True}),
])
def test_token_kubeconfig_uses_the_token_and_the_ca(ca_cert, verify_ssl, cluster):
    config = gateway.token_kubeconfig("https://k:6443", "s3cret", ca_cert, verify_ssl)
    [context] = config["contexts"]
    assert config["current-context"] == context["name"]
    [entry] = [c for c in config["clusters"] if c["name"] == context["context"]["cluster"]]
    [user] = [u for u in config["users"] if u["name"] == context["context"]["user"]]
    assert entry["cluster"] == cluster
    assert user["user"] == {"token": "s3cret"}


@pytest.mark.parametrize("host,api_key", [("", "t"), ("https://k", ""), (None, None)])
def test_token_kubeconfig_needs_host_and_token(host, api_key):
    with pytest.raises(ValueError, match="K8S_AUTH_HOST and K8S_AUTH_API_KEY"):
        gateway.token_kubeconfig(host, api_key)


def _deployment(labels=None, annotations=None):
    return {"metadata": {"name": "istio-egressgateway", "labels": labels or {}, "annotations": annotations or {}}}


MANAGER_CASES = [
    ("absent-none", None, "absent"),
    ("absent-empty", {}, "absent"),
    ("ours", _deployment({"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "prod"}), "manifest/prod"),
    ("helm", _deployment({"app.kubernetes.io/managed-by": "Helm"}, {"meta.helm.sh/release-name": "egress"}), "helm/egress"),
    ("istioctl", _deployment({"operator.istio.io/component": "EgressGateways"}), "istioctl"),
    ("istioctl-owning", _deployment({"install.operator.istio.io/owning-resource": "unknown"}), "istioctl"),
    ("hand-made", _deployment({"istio": "egressgateway"}), "other"),
]


@pytest.mark.parametrize("deployment,manager", [c[1:] for c in MANAGER_CASES], ids=[c[0] for c in MANAGER_CASES])
def test_manager(deployment, manager):
    assert gateway.manager(deployment) == manager


@pytest.mark.parametrize("install,expected", [
    ("none", ""), ("manifest", "manifest/prod"), ("helm", "helm/egress"), ("istioctl", "istioctl")])
def test_expected_manager(install, expected):
    assert gateway.expected_manager(install, "prod", "egress") == expected


def test_expected_manager_refuses_unknown_mode():
    with pytest.raises(ValueError, match="install: must be one of none, manifest, helm, istioctl"):
        gateway.expected_manager("kustomize", "prod", "egress")


def test_prune_scope_covers_every_kind_rendered():
    rendered = set((o["apiVersion"], o["kind"]) for o in gateway.definitions(settings(min_replicas=2)))
    scope = set((s["api_version"], s["kind"]) for s in gateway.prune_scope("istio-system"))
    assert rendered == scope
    assert {s["namespace"] for s in gateway.prune_scope("istio-system")} == {"istio-system"}
