"""Bad settings of the three roles and a cluster whose state we must not act
on, through playbooks/site.yml: every case fails naming the variable (or the
object) and the field, and the cluster sees no write.

One table, one playbook run (tests/helpers/batch.py): each case is an
inventory host with its own identity on the control plane, Istio installed; a
case with a set-up runs in namespaces of its own (OWN_NS: the gateway, the mesh
config and our objects), Istio installed there, then the case's set-up.
"""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import service_entry_name, virtual_service_name
from helpers.batch import ISTIO_CRDS, NS as OWN_NS, Case, assert_converged, assert_refused, in_own_namespace, outcomes_fixture

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

SITE = "meshops.istio_egress.site"
HOSTS = {"external_services_hosts": [{"host": "httpbin.org"}, {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]}]}
# The hosts in a case's own namespaces, for the cases with a cluster set-up.
OWN = in_own_namespace(HOSTS)


def with_hosts(**host_vars):
    return dict(HOSTS, **host_vars)


def set_mesh(text):
    def setup(server, namespace):
        server.request("PATCH", server.path("configmaps", namespace, "istio"), {"data": {"mesh": text}},
                       content_type="application/merge-patch+json")
    return setup


# The policy already set: a case about a later step then starts from a cluster
# where nothing before that step has anything to write.
registry_only = set_mesh("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n")


def no_gateway(server, namespace):
    server.request("DELETE", server.path("deployments", namespace, "istio-egressgateway"))
    server.request("DELETE", server.path("services", namespace, "istio-egressgateway"))


def unlabelled_gateway(server, namespace):
    no_gateway(server, namespace)
    labels = {"app": "something-else"}
    server.create({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istio-egressgateway", "namespace": namespace, "labels": labels},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "proxy", "image": "x"}]}}}})


def no_mesh_config(server, namespace):
    server.request("DELETE", server.path("configmaps", namespace, "istio"))


def foreign_service_entry(owner, host="api.github.com"):
    """A hand-made ServiceEntry that has the name ours would get, without our labels."""
    def setup(server, namespace):
        registry_only(server, namespace)
        server.create({
            "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": service_entry_name(owner, host), "namespace": namespace},
            "spec": {"hosts": [host], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}], "resolution": "DNS"}})
    return setup


def garbled_routes_annotation(server, namespace):
    """A VirtualService for our host whose route records someone hand-edited into garbage."""
    registry_only(server, namespace)
    server.create({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": virtual_service_name("api.github.com"), "namespace": namespace,
                     "annotations": {"egress.meshops.io/routes": "{not json"}},
        "spec": {"hosts": ["api.github.com"], "tls": [{"match": [{"sniHosts": ["api.github.com"], "port": 443}],
                                                       "route": [{"destination": {"host": "api.github.com"}}]}]}})


CASES = [
    # external_services settings
    Case("es-namespace", with_hosts(external_services_namespace="Egress_Objects"),
         ("external_services_namespace", "Egress_Objects")),
    Case("es-api-version", with_hosts(external_services_api_version="networking.istio.io/v2"),
         ("external_services_api_version", "networking.istio.io/v2")),
    Case("es-selector-empty", with_hosts(external_services_gateway_selector={}), ("external_services_gateway_selector",)),
    Case("es-enforce-gateway-ns", with_hosts(external_services_enforce_namespaces=["payments", "istio-system"]),
         ("external_services_enforce_namespaces[1]", "istio-system")),
    Case("es-mtls-word", with_hosts(external_services_gateway_mtls="maybe"), ("external_services_gateway_mtls", "boolean")),
    Case("es-owner", with_hosts(istio_egress_owner="team a"), ("istio_egress_owner", "'team a'")),
    Case("es-deny-without-mtls", with_hosts(external_services_gateway_mtls=False, external_services_default_deny=True),
         ("external_services_default_deny", "external_services_gateway_mtls")),
    Case("es-prune-word", with_hosts(external_services_prune="sometimes"), ("external_services_prune",)),
    # egress_gateway settings
    Case("gw-install-mode", with_hosts(egress_gateway_install="kubectl"), ("egress_gateway_install", "kubectl")),
    Case("gw-namespace", with_hosts(egress_gateway_namespace="Istio_System"), ("egress_gateway_namespace", "Istio_System")),
    Case("gw-name", with_hosts(egress_gateway_name="1-gateway"), ("egress_gateway_name", "1-gateway")),
    Case("gw-selector-value", with_hosts(egress_gateway_selector={"istio": "egress gateway"}), ("egress_gateway_selector", "egress gateway")),
    Case("gw-replicas", with_hosts(egress_gateway_install="manifest", egress_gateway_replicas_min=0), ("egress_gateway_replicas_min",)),
    Case("gw-extra-port", with_hosts(egress_gateway_install="manifest", egress_gateway_extra_ports=[{"number": 99999, "protocol": "TCP"}]),
         ("egress_gateway_extra_ports[0]", "99999")),
    # outbound_policy settings (the gateway is to be installed: nothing may be, before they are checked)
    Case("op-mode", dict(OWN, outbound_policy_mode="DENY", egress_gateway_install="manifest"), ("outbound_policy_mode", "DENY"),
         setup=no_gateway),
    Case("op-target", with_hosts(outbound_policy_target="configmap"), ("outbound_policy_target", "configmap")),
    Case("op-sidecar-namespace", with_hosts(outbound_policy_target="sidecar", outbound_policy_namespaces=["payments", "Shop"]),
         ("outbound_policy_namespaces[1]", "Shop")),
    Case("op-namespaces-string", with_hosts(outbound_policy_target="sidecar", outbound_policy_namespaces="payments"),
         ("outbound_policy_namespaces",)),
    # What the cluster holds
    Case("mesh-not-yaml", OWN, (OWN_NS + "/istio", "mesh", "not valid YAML"), setup=set_mesh("outboundTrafficPolicy: {mode: [\n")),
    Case("mesh-a-list", OWN, (OWN_NS + "/istio", "mesh", "mapping"), setup=set_mesh("- accessLogFile\n- /dev/stdout\n")),
    Case("mesh-missing", OWN, (OWN_NS + "/istio", "not found"), setup=no_mesh_config),
    Case("gateway-missing", OWN, ("No egress gateway found", "istio-egressgateway", OWN_NS, "egress_gateway_install"), setup=no_gateway),
    Case("gateway-unlabelled", OWN, (OWN_NS + "/istio-egressgateway", "selector labels"), setup=unlabelled_gateway),
    Case("foreign-object-our-name", OWN, ("ServiceEntry", service_entry_name("foreign-object-our-name", "api.github.com"),
                                          "not managed by this owner"),
         setup=foreign_service_entry("foreign-object-our-name")),
    Case("garbled-routes-annotation", OWN, ("VirtualService", virtual_service_name("api.github.com"), "egress.meshops.io/routes"),
         setup=garbled_routes_annotation),
]


# Valid input in the same run, in namespaces of its own: it converges, so the set-up reaches each case's
# own namespaces and its identity's writes are counted.
CONTROL = Case("control-valid-input", OWN, ())
outcomes = outcomes_fixture(SITE, CASES + [CONTROL])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_setting_or_cluster_state_fails_naming_it_and_writes_nothing(case, outcomes):
    assert_refused(case, outcomes[case.id])


def test_valid_input_in_the_same_run_converges_its_own_namespaces(outcomes):
    assert_converged(outcomes[CONTROL.id])
