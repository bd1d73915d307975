"""The owner's hosts as an ApplySet (KEP-3659) on a real API server: the first run after an
upgrade adopts the objects an earlier version made (no parent, no part-of label), pruning a
stale one wherever it is, and later runs list only where the parent says the set lives."""
import pytest

from helpers.cluster import install_istio
from helpers.mesh_state import failure_messages, site

OWNER = "cluster-a"
PARENT = "meshops-egress-hosts-" + OWNER
PART_OF = "applyset.kubernetes.io/part-of"
LABELS = {"app.kubernetes.io/managed-by": "meshops.istio_egress", "egress.meshops.io/owner": OWNER}
HOSTS = [{"host": "httpbin.org"}, {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]}]
OWNED = ("serviceentries", "gateways", "destinationrules")


def stale_network_policy(server, namespace):
    server.create_namespace(namespace)
    server.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "meshops-egress-enforce", "namespace": namespace, "labels": dict(LABELS)},
                   "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})


def as_before_applysets(server):
    """What a version before ApplySets left: the owner's objects without the part-of label, no parent."""
    server.request("DELETE", server.path("configmaps", "istio-system", PARENT))
    for plural in OWNED:
        for obj in server.objects(plural, "istio-system"):
            if PART_OF in obj["metadata"].get("labels", {}):
                server.request("PATCH", server.path(plural, "istio-system", obj["metadata"]["name"]),
                               {"metadata": {"labels": {PART_OF: None}}}, content_type="application/merge-patch+json")


def owned_without_part_of(server):
    return [o["metadata"]["name"] for plural in OWNED for o in server.objects(plural, "istio-system")
            if o["metadata"].get("labels", {}).get("egress.meshops.io/owner") == OWNER and PART_OF not in o["metadata"]["labels"]]


@pytest.fixture
def upgraded(apiserver, tmp_path):
    """A cluster an earlier version converged, with a NetworkPolicy of a namespace since dropped."""
    install_istio(apiserver)
    first = site(apiserver, tmp_path / "before", HOSTS)
    assert first.rc == 0, failure_messages(first)
    as_before_applysets(apiserver)
    stale_network_policy(apiserver, "dropped")
    apiserver.reset_counts()
    return apiserver


def wide_lists(server):
    return [(r["plural"], r["status"]) for r in server.requests if r["verb"] == "list" and not r["namespace"]]


def test_the_first_run_after_an_upgrade_adopts_and_prunes_everywhere_then_lists_only_the_set(upgraded, tmp_path):
    result = site(upgraded, tmp_path, HOSTS)
    assert result.rc == 0, failure_messages(result)
    # adopted: every object now part of the set, the parent made, the stale NetworkPolicy found across namespaces
    assert owned_without_part_of(upgraded) == []
    assert upgraded.objects("networkpolicies", "dropped") == []
    assert wide_lists(upgraded) == [("networkpolicies", 200)]
    parent = upgraded.get("configmaps", "istio-system", PARENT)
    assert parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == (
        "DestinationRule.networking.istio.io,Gateway.networking.istio.io,ServiceEntry.networking.istio.io")

    upgraded.reset_counts()
    again = site(upgraded, tmp_path, HOSTS)
    assert again.rc == 0 and again.changed(OWNER) == 0, failure_messages(again)
    assert upgraded.counts()["writes"] == 0
    assert wide_lists(upgraded) == []
    lists = sorted((r["plural"], r["namespace"]) for r in upgraded.requests if r["verb"] == "list")
    # the set's kinds where it lives, the shared VirtualServices, the gateway: nothing else
    assert lists == [("deployments", "istio-system"), ("destinationrules", "istio-system"), ("gateways", "istio-system"),
                     ("serviceentries", "istio-system"), ("virtualservices", "istio-system")]


def test_a_new_set_needs_no_list_across_namespaces(apiserver, tmp_path):
    install_istio(apiserver)
    apiserver.reset_counts()
    result = site(apiserver, tmp_path, HOSTS)
    assert result.rc == 0, failure_messages(result)
    assert wide_lists(apiserver) == []


def test_adoption_without_the_right_to_list_across_namespaces_warns_and_leaves_what_it_cannot_see(upgraded, tmp_path):
    # Credentials with rights in the set's namespaces only: the LIST across namespaces is refused.
    refused = upgraded.inject_fault({"verb": "list", "plural": "networkpolicies", "namespace": None}, status=403, times=None)
    result = site(upgraded, tmp_path, HOSTS, kubeconfig=upgraded.proxied_kubeconfig)
    assert result.rc == 0, failure_messages(result)
    assert refused.hits == 1
    assert ("Adopting the objects of owner 'cluster-a' made before ApplySets: cannot list NetworkPolicy in all namespaces "
            "(403); any of them outside the namespaces declared now stay (delete them by hand).") in result.stdout
    # Adopted where it could look; the stale NetworkPolicy it could not see stays, as the warning says.
    assert owned_without_part_of(upgraded) == []
    assert len(upgraded.objects("networkpolicies", "dropped")) == 1
