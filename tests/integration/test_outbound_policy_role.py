"""The outbound_policy role, run with real ansible-playbook against the test control plane."""
import json
import os
import shutil
import stat
import sys

import kubernetes
import pytest
import yaml

from helpers import istio_checks
from helpers.playbook import run_playbook
from helpers.server_validation import rejections

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "outbound_policy.yml")
STUB = os.path.join(os.path.dirname(__file__), "playbooks", "stubs", "installer_stub.py")
OWNER_LABELS = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "localhost"}

# What Istio's istiod chart renders into the mesh ConfigMap (trimmed), and a neighbour key.
MESH = """\
accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  tracing: {}
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
"""
MESH_NETWORKS = "networks: {}\n"
CONFIGMAP_LABELS = {"app.kubernetes.io/managed-by": "Helm", "istio.io/rev": "default", "release": "istiod"}


def run(server, check=False, diff=False, env=None, **extra_vars):
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, kubeconfig=server.kubeconfig, check=check, diff=diff, env=env)


def failure_message(result):
    assert result.rc != 0, result.stdout[-3000:]
    return " ".join(str(item[2].get("msg", "")) for item in result.task_results() if item[2].get("failed"))


def debug_messages(result):
    return " ".join(str(item[2].get("msg", "")) for item in result.task_results() if item[2].get("action") == "ansible.builtin.debug")


def writes(server):
    return server.counts()["writes"]


def core(server):
    return kubernetes.client.CoreV1Api(server.client())


def create_mesh_configmap(server, name="istio", mesh=MESH):
    core(server).create_namespaced_config_map("istio-system", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "istio-system", "labels": CONFIGMAP_LABELS},
        "data": {"mesh": mesh, "meshNetworks": MESH_NETWORKS}})


def read_configmap(server, name="istio"):
    return server.request("GET", "/api/v1/namespaces/istio-system/configmaps/" + name)


def install_stub(directory, name):
    """Put the test's helm/istioctl stand-in on PATH as ``name``."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    with open(STUB) as source:
        path.write_text("#!{0}\n{1}".format(sys.executable, source.read()))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": "{0}{1}{2}".format(directory, os.pathsep, os.environ.get("PATH", ""))}


def helm_upgrades(directory):
    log = directory / "helm.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line)["argv"] for line in lines if " upgrade" in " ".join(json.loads(line)["argv"])]


# --- meshconfig -----------------------------------------------------------------------------------

def test_meshconfig_check_apply_rerun(apiserver):
    create_mesh_configmap(apiserver)
    before = read_configmap(apiserver)
    apiserver.reset_counts()

    checked = run(apiserver, check=True, diff=True)
    assert checked.rc == 0 and checked.changed() == 1, checked.stdout[-3000:]
    assert writes(apiserver) == 0
    assert read_configmap(apiserver)["data"] == before["data"]

    applied = run(apiserver, diff=True)
    assert applied.rc == 0 and applied.changed() == 1, applied.stdout[-3000:]
    assert writes(apiserver) == 1
    after = read_configmap(apiserver)
    mesh = yaml.safe_load(after["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert dict((k, v) for k, v in mesh.items() if k != "outboundTrafficPolicy") == yaml.safe_load(MESH)
    assert after["data"]["meshNetworks"] == MESH_NETWORKS
    # Not our object: no ownership labels, its own labels untouched.
    assert after["metadata"]["labels"] == CONFIGMAP_LABELS
    assert "helm upgrade or istioctl install of istiod rewrites this ConfigMap" in debug_messages(applied)

    apiserver.reset_counts()
    again = run(apiserver)
    assert again.rc == 0 and again.changed() == 0, again.stdout[-3000:]
    assert writes(apiserver) == 0
    assert read_configmap(apiserver)["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]


def test_meshconfig_allow_any_warns_and_keeps_egress_proxy(apiserver):
    create_mesh_configmap(apiserver, mesh=MESH + "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n  egressProxy:\n    host: squid.proxy.svc\n")
    result = run(apiserver, outbound_policy_mode="ALLOW_ANY")
    assert result.rc == 0 and result.changed() == 1, result.stdout[-3000:]
    warnings = [w for item in result.task_results() for w in item[2].get("warnings") or []]
    assert any(w.startswith("outbound_policy_mode=ALLOW_ANY is insecure") for w in warnings), warnings
    mesh = yaml.safe_load(read_configmap(apiserver)["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"] == {"mode": "ALLOW_ANY", "egressProxy": {"host": "squid.proxy.svc"}}


def test_meshconfig_of_a_revision(apiserver):
    create_mesh_configmap(apiserver)
    create_mesh_configmap(apiserver, name="istio-canary")
    result = run(apiserver, outbound_policy_revision="canary")
    assert result.rc == 0, result.stdout[-3000:]
    assert yaml.safe_load(read_configmap(apiserver, "istio-canary")["data"]["mesh"])["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"
    assert read_configmap(apiserver)["data"]["mesh"] == MESH


@pytest.mark.parametrize("mesh,extra,expected", [
    pytest.param(None, {}, "ConfigMap istio-system/istio not found", id="missing"),
    pytest.param(None, {"outbound_policy_revision": "1-24"}, "ConfigMap istio-system/istio-1-24 not found", id="missing-revision"),
    pytest.param("accessLogFile: [/dev/stdout\n", {}, "ConfigMap istio-system/istio: the 'mesh' value is not valid YAML", id="invalid-yaml"),
    pytest.param("- a list\n", {}, "ConfigMap istio-system/istio: the 'mesh' value must be a YAML mapping", id="not-a-mapping"),
])
def test_meshconfig_errors_are_clear_and_write_nothing(apiserver, mesh, extra, expected):
    if mesh is not None:
        create_mesh_configmap(apiserver, mesh=mesh)
    apiserver.reset_counts()
    result = run(apiserver, **extra)
    message = failure_message(result)
    assert expected in message and "nothing was changed" in message.lower()
    assert writes(apiserver) == 0


# --- sidecar --------------------------------------------------------------------------------------

HOSTS = [{"host": "httpbin.org"}, {"host": "*.example.com", "ports": [{"number": 443, "protocol": "TLS"}]}]


def sidecars(server):
    return dict((o["metadata"]["namespace"], o) for o in server.objects("sidecars"))


def test_sidecars_per_namespace_rerun_and_prune(apiserver):
    for namespace in ("shop", "payments"):
        apiserver.create_namespace(namespace)
    common = {"outbound_policy_target": "sidecar", "external_services_hosts": HOSTS,
              "external_services_namespace": "mesh-external", "egress_gateway_namespace": "istio-egress"}
    apiserver.reset_counts()

    checked = run(apiserver, check=True, outbound_policy_namespaces=["shop", "payments"], **common)
    assert checked.rc == 0 and checked.changed() > 0, checked.stdout[-3000:]
    assert writes(apiserver) == 0 and sidecars(apiserver) == {}

    first = run(apiserver, diff=True, outbound_policy_namespaces=["shop", "payments"], **common)
    assert first.rc == 0 and first.changed() > 0, first.stdout[-3000:]
    found = sidecars(apiserver)
    assert sorted(found) == ["payments", "shop"]
    for obj in found.values():
        assert obj["metadata"]["name"] == "default"
        assert all(obj["metadata"]["labels"][k] == v for k, v in OWNER_LABELS.items())
        assert obj["spec"] == {
            "egress": [{"hosts": ["./*", "istio-system/*", "istio-egress/*", "mesh-external/*.example.com", "mesh-external/httpbin.org"]}],
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    # Istio's schema and CEL rules (the API server), and the webhook's checks (istioctl validate).
    assert rejections(apiserver, found.values()) == []
    assert istio_checks.validate(
        {"apiVersion": o["apiVersion"], "kind": o["kind"], "spec": o["spec"],
         "metadata": {"name": o["metadata"]["name"], "namespace": o["metadata"]["namespace"]}} for o in found.values()) == []

    apiserver.reset_counts()
    second = run(apiserver, outbound_policy_namespaces=["shop", "payments"], **common)
    assert second.rc == 0 and second.changed() == 0, second.stdout[-3000:]
    assert writes(apiserver) == 0

    # A namespace dropped from the list loses its Sidecar; the other one is untouched.
    apiserver.reset_counts()
    third = run(apiserver, outbound_policy_namespaces=["shop"], **common)
    assert third.rc == 0 and third.changed() > 0
    assert sorted(sidecars(apiserver)) == ["shop"]
    # the Sidecar deleted, and the ApplySet parent no longer recording its namespace
    assert writes(apiserver) == 2


def test_foreign_namespace_wide_sidecar_is_refused(apiserver):
    apiserver.create_namespace("shop")
    apiserver.request("POST", "/apis/networking.istio.io/v1/namespaces/shop/sidecars", {
        "apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": {"name": "team-default", "namespace": "shop"},
        "spec": {"egress": [{"hosts": ["./*"]}]}})
    apiserver.reset_counts()
    result = run(apiserver, outbound_policy_target="sidecar", outbound_policy_namespaces=["shop"])
    message = failure_message(result)
    assert "shop/team-default" in message and "one namespace-wide Sidecar per namespace" in message
    assert writes(apiserver) == 0


def test_sidecar_settings_are_validated_before_any_cluster_call(apiserver):
    result = run(apiserver, outbound_policy_target="sidecar", outbound_policy_namespaces=["Shop"],
                 outbound_policy_hosts=["*"])
    message = failure_message(result)
    assert "outbound_policy_namespaces[0]: 'Shop'" in message and "outbound_policy_hosts[0]" in message
    assert apiserver.requests == []


# --- istioctl / helm ------------------------------------------------------------------------------

def test_istioctl_target_writes_an_overlay_only(apiserver, tmp_path):
    result = run(apiserver, outbound_policy_target="istioctl", outbound_policy_overlay_dir=str(tmp_path))
    assert result.rc == 0, result.stdout[-3000:]
    document = yaml.safe_load((tmp_path / "outbound-policy.istiooperator.yaml").read_text())
    assert document == {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                        "spec": {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}}}
    assert apiserver.requests == []
    assert run(apiserver, outbound_policy_target="istioctl", outbound_policy_overlay_dir=str(tmp_path)).changed() == 0


def test_helm_target_upgrades_istiod_reusing_its_values_once(apiserver, tmp_path):
    bin_dir = tmp_path / "bin"
    env = install_stub(bin_dir, "helm")
    user_values = {"global": {"hub": "registry.corp/istio"},
                   "meshConfig": {"accessLogFile": "/dev/stdout", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}}
    (bin_dir / "state.json").write_text(json.dumps({"releases": {"istiod": {"values": user_values, "status": {
        "name": "istiod", "namespace": "istio-system", "revision": "3", "status": "deployed",
        "chart": "istiod-1.23.2", "app_version": "1.23.2"}}}}))
    common = {"outbound_policy_target": "helm", "outbound_policy_overlay_dir": str(tmp_path / "out")}

    written_only = run(apiserver, env=env, **common)
    assert written_only.rc == 0, written_only.stdout[-3000:]
    assert yaml.safe_load((tmp_path / "out" / "istiod-outbound-policy.values.yaml").read_text()) == {
        "meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}}
    assert not (bin_dir / "helm.log").exists()

    upgraded = run(apiserver, env=env, outbound_policy_helm_upgrade=True, **common)
    assert upgraded.rc == 0 and upgraded.changed() > 0, upgraded.stdout[-3000:]
    [argv] = helm_upgrades(bin_dir)
    # The deployed chart version, so that setting a policy never upgrades Istio itself.
    assert "--version=1.23.2" in argv and "--reuse-values=True" in argv and "--reset-values" not in argv
    assert argv[-2:] == ["istiod", "istiod"]
    values = json.loads((bin_dir / "state.json").read_text())["releases"]["istiod"]["values"]
    assert values["meshConfig"] == {"accessLogFile": "/dev/stdout", "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    assert values["global"] == {"hub": "registry.corp/istio"}

    again = run(apiserver, env=env, outbound_policy_helm_upgrade=True, **common)
    assert again.rc == 0 and again.changed() == 0, again.stdout[-3000:]
    assert len(helm_upgrades(bin_dir)) == 1


def test_helm_upgrade_without_helm_fails_clearly(apiserver, tmp_path):
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not os.access(os.path.join(d, "helm"), os.X_OK))
    assert shutil.which("helm", path=path) is None
    result = run(apiserver, env={"PATH": path}, outbound_policy_target="helm", outbound_policy_helm_upgrade=True,
                 outbound_policy_overlay_dir=str(tmp_path))
    message = failure_message(result)
    assert "outbound_policy_helm_upgrade=true needs the helm binary" in message and "Nothing was changed" in message
    assert writes(apiserver) == 0
