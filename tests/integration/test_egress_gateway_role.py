"""The egress_gateway role, run with real ansible-playbook against the test control plane.

helm and istioctl cannot run here: their tests put small stub executables on
PATH that record their argv and, like the real installers, create the gateway
Deployment and Service through the API (with the installer's labels). No
Deployment controller or kubelet runs: where the role installs a gateway and
waits for it, the test has the stand-in report every Deployment rolled out.
"""
import json
import os
import shutil
import stat
import sys

import kubernetes
import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils._manifests import file_name
from helpers.playbook import run_playbook

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "egress_gateway.yml")
OWNER_LABELS = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "localhost"}
CHART_KINDS = {"ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "HorizontalPodAutoscaler"}
PLURALS = ("serviceaccounts", "roles", "rolebindings", "deployments", "services", "horizontalpodautoscalers",
           "poddisruptionbudgets")


def run(server, check=False, diff=False, env=None, **extra_vars):
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, kubeconfig=server.kubeconfig, check=check, diff=diff, env=env)


def failure_message(result):
    assert result.rc != 0, result.stdout[-3000:]
    return " ".join(str(item[2].get("msg", "")) for item in result.task_results() if item[2].get("failed"))


def gateway_facts(result):
    for name, host, task_result in result.task_results():
        if name == "Publish the gateway facts for the test" and host == "localhost":
            return task_result["egress_gateway_facts"]
    raise AssertionError("no facts published:\n" + result.stdout[-3000:])


def gateway_kind_objects(server, namespace="istio-system"):
    """(kind, name) -> object of every gateway-kind object in the namespace."""
    found = {}
    for plural in PLURALS:
        for obj in server.objects(plural, namespace):
            found[(obj["kind"], obj["metadata"]["name"])] = obj
    return found


def owned_objects(server, namespace="istio-system"):
    """The same, only those carrying our ownership labels."""
    return dict((key, obj) for key, obj in gateway_kind_objects(server, namespace).items()
                if all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in OWNER_LABELS.items()))


def writes(server):
    return server.counts()["writes"]


def create_gateway(server, labels, annotations=None, name="istio-egressgateway", namespace="istio-system",
                   pod_labels=None, ports=((80, "http2"), (443, "https"))):
    """A gateway Deployment and Service made by someone else, through the kubernetes client."""
    api = server.client()
    pod_labels = pod_labels or {"app": name, "istio": "egressgateway"}
    metadata = {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations or {}}
    kubernetes.client.AppsV1Api(api).create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
        "spec": {"replicas": 1, "selector": {"matchLabels": pod_labels},
                 "template": {"metadata": {"labels": pod_labels},
                              "spec": {"containers": [{"name": "istio-proxy", "image": "auto"}]}}}})
    kubernetes.client.CoreV1Api(api).create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": metadata,
        "spec": {"type": "ClusterIP", "selector": pod_labels,
                 "ports": [{"name": port_name, "port": port, "targetPort": port} for port, port_name in ports]}})
    # Ready, as the Deployment controller and kubelet would report it.
    server.mark_rolled_out(namespace, name)


# --- stub installers ------------------------------------------------------------------------------

STUB = os.path.join(os.path.dirname(__file__), "playbooks", "stubs", "installer_stub.py")


def install_stub(directory, name):
    """Put the stub on PATH as ``name`` (helm or istioctl)."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    with open(STUB) as source:
        path.write_text("#!{0}\n{1}".format(sys.executable, source.read()))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": "{0}{1}{2}".format(directory, os.pathsep, os.environ.get("PATH", ""))}


def calls(directory, name):
    log = directory / (name + ".log")
    return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []


def path_without(*binaries):
    """PATH minus the directories that hold any of ``binaries``."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not any(os.access(os.path.join(d, b), os.X_OK) for b in binaries)]
    assert all(shutil.which(b, path=os.pathsep.join(keep)) is None for b in binaries)
    return os.pathsep.join(keep)


# --- tests ----------------------------------------------------------------------------------------

def test_absent_gateway_fails_clearly_without_writes(apiserver):
    result = run(apiserver)
    message = failure_message(result)
    for expected in ("No egress gateway found", "istio-egressgateway", "istio=egressgateway", "istio-system",
                     "egress_gateway_install", "'manifest'", "'helm'", "'istioctl'"):
        assert expected in message
    assert writes(apiserver) == 0


def test_invalid_settings_fail_before_any_cluster_call(apiserver):
    result = run(apiserver, egress_gateway_install="manifest", egress_gateway_replicas_min=3, egress_gateway_replicas_max=2,
                 egress_gateway_extra_ports=[15090, {"number": 9000, "protocol": "UDP"}])
    message = failure_message(result)
    assert "3 error(s); nothing was changed" in message
    assert "egress_gateway_replicas_max" in message and "15090 is reserved" in message and "egress_gateway_extra_ports[1].protocol" in message
    assert apiserver.requests == []


def test_manifest_install_is_the_charts_objects_and_a_rerun_writes_nothing(apiserver):
    apiserver.roll_out_deployments()  # the role waits for the Deployment it applies
    first = run(apiserver, diff=True, egress_gateway_install="manifest",
                egress_gateway_extra_ports=[{"number": 8443, "protocol": "TLS"}, 80])
    assert first.rc == 0, first.stdout[-3000:]
    assert first.changed() > 0
    objects = owned_objects(apiserver)
    assert {key[0] for key in objects} == CHART_KINDS
    # An ApplySet (KEP-3659): the parent beside the gateway records the kinds, every member points at it.
    parent = apiserver.get("configmaps", "istio-system", "meshops-egress-gateway-localhost")
    applyset_id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
    assert parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == (
        "Deployment.apps,HorizontalPodAutoscaler.autoscaling,Role.rbac.authorization.k8s.io,"
        "RoleBinding.rbac.authorization.k8s.io,Service,ServiceAccount")
    for obj in objects.values():
        assert obj["metadata"]["name"] == "istio-egressgateway"
        for key, value in dict(OWNER_LABELS, istio="egressgateway", app="istio-egressgateway").items():
            assert obj["metadata"]["labels"][key] == value
        assert obj["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == applyset_id
    pod = objects[("Deployment", "istio-egressgateway")]["spec"]["template"]
    assert pod["metadata"]["annotations"]["inject.istio.io/templates"] == "gateway"
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert pod["metadata"]["labels"]["istio"] == "egressgateway"
    [container] = pod["spec"]["containers"]
    assert (container["name"], container["image"]) == ("istio-proxy", "auto")
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
    assert container["readinessProbe"]["httpGet"]["port"] == 15021
    service = objects[("Service", "istio-egressgateway")]["spec"]
    assert service["type"] == "ClusterIP"
    assert [(p["name"], p["port"]) for p in service["ports"]] == [("http2", 80), ("https", 443), ("tls-8443", 8443)]
    hpa = objects[("HorizontalPodAutoscaler", "istio-egressgateway")]
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["minReplicas"] == 1
    facts = gateway_facts(first)
    assert facts["service_fqdn"] == "istio-egressgateway.istio-system.svc.cluster.local"
    assert (facts["namespace"], facts["name"], facts["selector"]) == ("istio-system", "istio-egressgateway", {"istio": "egressgateway"})
    assert [p["port"] for p in facts["ports"]] == [80, 443, 8443]
    assert facts["installed_by"] == "manifest/localhost" and facts["ready_replicas"] >= 1

    apiserver.reset_counts()
    second = run(apiserver, egress_gateway_install="manifest", egress_gateway_extra_ports=[{"number": 8443, "protocol": "TLS"}, 80])
    assert second.rc == 0 and second.changed() == 0, second.stdout[-3000:]
    assert writes(apiserver) == 0

    # Two replicas at least: the HPA changes and a PDB appears; back to one: the PDB is pruned.
    third = run(apiserver, egress_gateway_install="manifest", egress_gateway_replicas_min=2,
                egress_gateway_extra_ports=[{"number": 8443, "protocol": "TLS"}, 80])
    assert third.rc == 0 and third.changed() > 0
    objects = owned_objects(apiserver)
    assert objects[("HorizontalPodAutoscaler", "istio-egressgateway")]["spec"]["minReplicas"] == 2
    pdb = objects[("PodDisruptionBudget", "istio-egressgateway")]
    assert pdb["spec"]["minAvailable"] == 1 and pdb["metadata"]["labels"]["egress.meshops.io/owner"] == "localhost"
    assert "PodDisruptionBudget.policy" in apiserver.get("configmaps", "istio-system", "meshops-egress-gateway-localhost")[
        "metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
    fourth = run(apiserver, egress_gateway_install="manifest")
    assert fourth.rc == 0
    objects = owned_objects(apiserver)
    assert ("PodDisruptionBudget", "istio-egressgateway") not in objects
    # The PodDisruptionBudget went with the parent's record of its kind.
    kinds = apiserver.get("configmaps", "istio-system", "meshops-egress-gateway-localhost")["metadata"]["annotations"][
        "applyset.kubernetes.io/contains-group-kinds"]
    assert "PodDisruptionBudget.policy" not in kinds
    assert [p["port"] for p in objects[("Service", "istio-egressgateway")]["spec"]["ports"]] == [80, 443]


def test_manifest_check_mode_writes_nothing(apiserver):
    result = run(apiserver, check=True, diff=True, egress_gateway_install="manifest", egress_gateway_revision="canary")
    assert result.rc == 0, result.stdout[-3000:]
    assert result.changed() > 0  # it says what it would do
    assert writes(apiserver) == 0
    assert owned_objects(apiserver) == {}


def test_existing_gateway_is_detected_and_left_alone(apiserver):
    create_gateway(apiserver, labels={"app": "istio-egressgateway", "istio": "egressgateway"},
                   ports=((80, "http2"), (443, "https"), (9443, "tls-9443")))
    before = gateway_kind_objects(apiserver)
    apiserver.reset_counts()
    for install in ("none", "manifest"):
        result = run(apiserver, egress_gateway_install=install)
        assert result.rc == 0 and result.changed() == 0, result.stdout[-3000:]
        facts = gateway_facts(result)
        assert [p["port"] for p in facts["ports"]] == [80, 443, 9443]
        assert facts["installed_by"] == "other" and facts["ready_replicas"] == 1
    assert writes(apiserver) == 0
    after = gateway_kind_objects(apiserver)
    assert {k: v["metadata"]["resourceVersion"] for k, v in after.items()} == {k: v["metadata"]["resourceVersion"] for k, v in before.items()}


@pytest.mark.parametrize("setup,extra,expected", [
    pytest.param(lambda s: s.create_namespace("egress", labels={"istio-injection": "disabled"}),
                 {"egress_gateway_namespace": "egress"}, "labelled istio-injection=disabled", id="injection-disabled"),
    pytest.param(lambda s: None, {"egress_gateway_namespace": "nowhere"}, "Namespace nowhere does not exist", id="no-namespace"),
    pytest.param(lambda s: create_gateway(s, labels={"app": "istio-egressgateway"}, pod_labels={"app": "istio-egressgateway"}),
                 {}, "exists but lacks the selector labels istio=egressgateway", id="unlabelled-deployment"),
    pytest.param(lambda s: create_gateway(s, labels={"app": "egress-two", "istio": "egressgateway"}, name="egress-two"),
                 {}, "egress-two carries the selector labels", id="second-gateway"),
])
def test_unsafe_installs_are_refused(apiserver, setup, extra, expected):
    setup(apiserver)
    apiserver.reset_counts()
    result = run(apiserver, egress_gateway_install="manifest", **extra)
    message = failure_message(result)
    assert expected in message and "Nothing was changed" in message
    assert writes(apiserver) == 0


def test_helm_install_then_rerun(apiserver, tmp_path):
    env = install_stub(tmp_path / "bin", "helm")
    apiserver.roll_out_deployments()  # the role waits for the Deployment helm creates
    first = run(apiserver, env=env, egress_gateway_install="helm", egress_gateway_helm_chart_version="1.24.0",
                egress_gateway_extra_ports=[9000])
    assert first.rc == 0 and first.changed() > 0, first.stdout[-3000:]
    upgrades = [argv for argv in calls(tmp_path / "bin", "helm") if "upgrade" in argv]
    assert len(upgrades) == 1
    argv = upgrades[0]
    assert argv[0].endswith("helm") and "--repo=https://istio-release.storage.googleapis.com/charts" in argv
    assert "--version=1.24.0" in argv and argv[argv.index("upgrade") + 1] == "-i"
    assert argv[-2:] == ["istio-egressgateway", "gateway"]
    [entry] = [json.loads(line) for line in (tmp_path / "bin" / "helm.log").read_text().splitlines() if "upgrade" in line]
    assert entry["kubeconfig"]  # the play's cluster credentials reached helm
    values = json.loads((tmp_path / "bin" / "state.json").read_text())["releases"]["istio-egressgateway"]["values"]
    assert values["service"]["type"] == "ClusterIP" and values["labels"] == {"istio": "egressgateway"}
    assert [p["port"] for p in values["service"]["ports"]] == [80, 443, 9000]
    facts = gateway_facts(first)
    assert facts["installed_by"] == "helm/istio-egressgateway" and [p["port"] for p in facts["ports"]] == [80, 443, 9000]

    apiserver.reset_counts()
    second = run(apiserver, env=env, egress_gateway_install="helm", egress_gateway_helm_chart_version="1.24.0",
                 egress_gateway_extra_ports=[9000])
    assert second.rc == 0 and second.changed() == 0, second.stdout[-3000:]
    assert len([argv for argv in calls(tmp_path / "bin", "helm") if "upgrade" in argv]) == 1
    assert writes(apiserver) == 0


def test_istioctl_install_then_rerun(apiserver, tmp_path):
    env = install_stub(tmp_path / "bin", "istioctl")
    apiserver.roll_out_deployments()  # the role waits for the Deployment istioctl creates
    base = tmp_path / "mine.yaml"
    base.write_text("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec: {profile: minimal}\n")
    work = tmp_path / "work"
    common = dict(egress_gateway_install="istioctl", egress_gateway_work_dir=str(work),
                  egress_gateway_istioctl_files=[str(base)], egress_gateway_extra_ports=[{"number": 8443, "protocol": "TLS"}])
    first = run(apiserver, env=env, **common)
    assert first.rc == 0 and first.changed() > 0, first.stdout[-3000:]
    overlay = work / "egress-gateway.istiooperator.yaml"
    [argv] = [argv for argv in calls(tmp_path / "bin", "istioctl") if "install" in argv]
    # istioctl reads no K8S_AUTH_* variable: the role names the cluster (here the environment's kubeconfig).
    assert argv[0].endswith("istioctl")
    assert argv[1:] == ["install", "-y", "--kubeconfig", apiserver.kubeconfig, "-f", str(base), "-f", str(overlay)]
    document = yaml.safe_load(overlay.read_text())
    assert document["kind"] == "IstioOperator"
    [component] = document["spec"]["components"]["egressGateways"]
    assert component["enabled"] is True and component["name"] == "istio-egressgateway"
    assert component["label"] == {"app": "istio-egressgateway", "istio": "egressgateway"}
    assert [p["port"] for p in component["k8s"]["service"]["ports"]] == [80, 443, 8443]
    assert gateway_facts(first)["installed_by"] == "istioctl"

    second = run(apiserver, env=env, **common)
    assert second.rc == 0 and second.changed() == 0, second.stdout[-3000:]
    assert len([argv for argv in calls(tmp_path / "bin", "istioctl") if "install" in argv]) == 1


@pytest.mark.parametrize("install,binary", [("helm", "helm"), ("istioctl", "istioctl")])
def test_missing_installer_binary_fails_clearly(apiserver, tmp_path, install, binary):
    result = run(apiserver, env={"PATH": path_without("helm", "istioctl")}, egress_gateway_install=install,
                 egress_gateway_work_dir=str(tmp_path / "work"))
    message = failure_message(result)
    assert "egress_gateway_install={0} needs the {1} binary".format(install, binary) in message
    assert "egress_gateway_install=manifest" in message and "Nothing was changed" in message
    assert writes(apiserver) == 0


def test_render_mode_makes_no_cluster_call(apiserver, tmp_path):
    result = run(apiserver, istio_egress_apply=False, istio_egress_render_dir=str(tmp_path), egress_gateway_install="manifest")
    assert result.rc == 0, result.stdout[-3000:]
    assert apiserver.requests == []
    directory = tmp_path / "localhost" / "egress_gateway"
    written = dict((p.name, yaml.safe_load(p.read_text())) for p in directory.iterdir())
    assert {obj["kind"] for obj in written.values()} == CHART_KINDS
    assert sorted(written) == sorted(file_name(obj) for obj in written.values())
    assert gateway_facts(result)["service_fqdn"] == "istio-egressgateway.istio-system.svc.cluster.local"
