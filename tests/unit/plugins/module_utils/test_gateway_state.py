"""What the egress_gateway role does about the gateway it finds: one table, no cluster."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway as gateway
from ansible_collections.meshops.istio_egress.plugins.module_utils._gateway_state import decide, facts, render_state

SETTINGS = gateway._checked({"name": "istio-egressgateway", "namespace": "istio-system", "selector": {"istio": "egressgateway"},
                             "extra_ports": [9000]})
SELECTOR = {"app": "istio-egressgateway", "istio": "egressgateway"}


def deployment(name="istio-egressgateway", labels=None, annotations=None, ready=1, replicas=1):
    return {"metadata": {"name": name, "labels": dict(SELECTOR, **(labels or {})), "annotations": annotations or {}},
            "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


OURS = deployment(labels={"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": "eu1"})
HELM = deployment(labels={"app.kubernetes.io/managed-by": "Helm"}, annotations={"meta.helm.sh/release-name": "istio-egressgateway"})
ISTIOCTL = deployment(labels={"operator.istio.io/component": "EgressGateways"})
OTHER = deployment()
SERVICE_80_443 = {"spec": {"ports": [{"name": "http2", "port": 80}, {"name": "https", "port": 443}]}}
SERVICE_WITH_9000 = {"spec": {"ports": SERVICE_80_443["spec"]["ports"] + [{"name": "tcp-9000", "port": 9000}]}}
NAMESPACE = {"metadata": {"name": "istio-system"}}
NO_INJECTION = {"metadata": {"name": "istio-system", "labels": {"istio-injection": "disabled"}}}


@pytest.mark.parametrize("install,reads,action,manager,installed_by,error", [
    # install none: check only
    ("none", dict(selected=[OTHER], service=SERVICE_80_443), "none", "other", "other", None),
    ("none", dict(selected=[]), "none", "absent", "absent", "No egress gateway found"),
    ("none", dict(selected=[], named=deployment(labels={"istio": "other"})), "none", "absent", "absent",
     "exists but lacks the selector labels istio=egressgateway"),
    ("none", dict(selected=[deployment(name="egress-two")]), "none", "absent", "absent", "egress-two carries the selector labels"),
    # an install mode keeps its own gateway up to date, and leaves another installer's alone
    ("manifest", dict(selected=[], namespace=NAMESPACE), "install", "absent", "manifest/eu1", None),
    ("manifest", dict(selected=[OURS], service=SERVICE_WITH_9000), "install", "manifest/eu1", "manifest/eu1", None),
    ("manifest", dict(selected=[HELM], service=SERVICE_80_443), "leave", "helm/istio-egressgateway", "helm/istio-egressgateway", None),
    ("manifest", dict(selected=[]), "none", "absent", "absent", "Namespace istio-system does not exist"),
    ("manifest", dict(selected=[], namespace=NO_INJECTION), "none", "absent", "absent", "labelled istio-injection=disabled"),
    ("helm", dict(selected=[HELM], service=SERVICE_80_443), "install", "helm/istio-egressgateway", "helm/istio-egressgateway", None),
    ("helm", dict(selected=[OURS], service=SERVICE_80_443), "leave", "manifest/eu1", "manifest/eu1", None),
    # istioctl reports no difference: it runs only when the Service lacks a port
    ("istioctl", dict(selected=[ISTIOCTL], service=SERVICE_WITH_9000), "none", "istioctl", "istioctl", None),
    ("istioctl", dict(selected=[ISTIOCTL], service=SERVICE_80_443), "install", "istioctl", "istioctl", None),
    ("istioctl", dict(selected=[]), "install", "absent", "istioctl", None),
])
def test_decide(install, reads, action, manager, installed_by, error):
    state = decide(SETTINGS, install, "eu1", "istio-egressgateway", **reads)
    assert (state["action"], state["manager"], state["installed_by"]) == (action, manager, installed_by)
    if error:
        [message] = state["errors"]
        assert error in message and message.endswith("Nothing was changed.")
    else:
        assert state["errors"] == []


def test_messages_name_the_callers_variables():
    [message] = decide(SETTINGS, "none", "eu1", "r", [], names={"install": "egress_gateway_install", "name": "egress_gateway_name"})["errors"]
    assert "Set egress_gateway_install to install one" in message and "egress_gateway_name" in message


def test_another_installers_gateway_is_left_with_a_warning():
    state = decide(SETTINGS, "manifest", "eu1", "r", [ISTIOCTL], service=SERVICE_80_443)
    assert state["warning"] == "Found gateway istio-system/istio-egressgateway installed by istioctl; install=manifest leaves it alone."


@pytest.mark.parametrize("deployments,ready,ready_replicas", [
    ([deployment(ready=2, replicas=2)], True, 2),
    ([deployment(ready=1, replicas=2)], False, 1),
    ([deployment(ready=0, replicas=0)], False, 0),  # at least one
    ([], False, 0),
])
def test_readiness(deployments, ready, ready_replicas):
    state = decide(SETTINGS, "istioctl", "eu1", "r", deployments, service=SERVICE_80_443)
    assert (state["ready"], state["ready_replicas"]) == (ready, ready_replicas)


@pytest.mark.parametrize("check_mode,reads,ports,wait_after_install", [
    # the live Service's ports once installed; in check mode, those the install would give
    (False, dict(selected=[OURS], service=SERVICE_80_443), [80, 443], True),
    (True, dict(selected=[OURS], service=SERVICE_80_443), [80, 443, 9000], True),
    # a first install in check mode installs nothing: nothing to wait for
    (True, dict(selected=[], namespace=NAMESPACE), [80, 443, 9000], False),
    (False, dict(selected=[], namespace=NAMESPACE), [80, 443, 9000], True),
])
def test_ports_and_wait(check_mode, reads, ports, wait_after_install):
    state = decide(SETTINGS, "manifest", "eu1", "r", check_mode=check_mode, **reads)
    assert [p["port"] for p in state["ports"]] == ports
    assert state["wait_after_install"] is wait_after_install


def test_istioctl_ports_are_its_pods_ports():
    state = decide(SETTINGS, "istioctl", "eu1", "r", [], check_mode=True)
    assert [(p["port"], p["targetPort"]) for p in state["ports"]] == [(80, 8080), (443, 8443), (9000, 9000)]


@pytest.mark.parametrize("install,ports", [("none", None), ("manifest", [80, 443, 9000])])
def test_render_mode_reads_nothing_and_gives_the_install_ports(install, ports):
    state = render_state(SETTINGS, install)
    published = facts(SETTINGS, state, "cluster.local", apply=False)
    assert published["installed_by"] == "render mode"
    assert published["service_fqdn"] == "istio-egressgateway.istio-system.svc.cluster.local"
    assert (published["ports"] and [p["port"] for p in published["ports"]]) == ports
