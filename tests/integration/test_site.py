"""playbooks/site.yml end to end against a real kube-apiserver, as a user runs it."""
import pytest

from helpers import istio_checks
from helpers.cluster import create_gateway_pod, install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook


SITE = "meshops.istio_egress.site"
MANAGED_BY = "app.kubernetes.io/managed-by"
OWNER = "egress.meshops.io/owner"

EXAMPLE_HOSTS = [
    {"host": "httpbin.org", "ports": [{"number": 80, "protocol": "HTTP"}]},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
]
ISTIO_PLURALS = ("serviceentries", "gateways", "destinationrules", "virtualservices")


@pytest.fixture
def cluster(apiserver):
    install_istio(apiserver)
    apiserver.reset_counts()
    return apiserver


def site(server, tmp_path, hosts, check=False, diff=False, **host_vars):
    inventory = write_inventory(tmp_path, {"cluster-a": dict({"external_services_hosts": hosts}, **host_vars)})
    return run_playbook(SITE, inventory=inventory, kubeconfig=server.kubeconfig, check=check, diff=diff)


def istio_objects(server):
    return {plural: server.objects(plural, "istio-system") for plural in ISTIO_PLURALS}


def hosts_of(objects):
    return sorted(h for obj in objects for h in obj["spec"].get("hosts", []))


def test_first_run_creates_the_egress_chain_and_a_rerun_writes_nothing(cluster, tmp_path):
    first = site(cluster, tmp_path, EXAMPLE_HOSTS)
    assert first.rc == 0, first.stdout[-3000:] + first.stderr
    assert first.changed("cluster-a") > 0
    objects = istio_objects(cluster)
    assert hosts_of(objects["serviceentries"]) == ["api.github.com", "edition.cnn.com", "httpbin.org"]
    assert hosts_of(objects["virtualservices"]) == ["api.github.com", "edition.cnn.com", "httpbin.org"]
    assert len(objects["gateways"]) == 1 and len(objects["destinationrules"]) == 1
    # 8 Istio objects, their ApplySet parent, and the mesh ConfigMap patched to REGISTRY_ONLY
    assert cluster.counts()["writes"] == 3 + 1 + 1 + 3 + 1 + 1
    for obj in (o for group in objects.values() for o in group):
        assert obj["metadata"]["labels"][MANAGED_BY] == "meshops.istio_egress"
        assert obj["metadata"]["labels"][OWNER] == "cluster-a"

    [gateway] = objects["gateways"]
    servers = {s["port"]["number"]: s for s in gateway["spec"]["servers"]}
    assert sorted(servers[80]["hosts"]) == ["edition.cnn.com", "httpbin.org"]
    assert sorted(servers[443]["hosts"]) == ["api.github.com", "edition.cnn.com"]
    assert servers[443]["tls"]["mode"] == "PASSTHROUGH"
    [rule] = objects["destinationrules"]
    assert rule["spec"]["host"] == "istio-egressgateway.istio-system.svc.cluster.local"
    subsets = {s["name"] for s in rule["spec"]["subsets"]}
    for vs in objects["virtualservices"]:
        assert vs["spec"]["gateways"] == [gateway["metadata"]["name"], "mesh"] or set(vs["spec"]["gateways"]) == {gateway["metadata"]["name"], "mesh"}
        for route in vs["spec"].get("http", []) + vs["spec"].get("tls", []):
            [match] = route["match"]
            [dest] = route["route"]
            if match["gateways"] == ["mesh"]:
                assert dest["destination"]["host"] == rule["spec"]["host"] and dest["destination"]["subset"] in subsets
            else:
                assert match["gateways"] == [gateway["metadata"]["name"]]
                assert dest["destination"]["host"] == vs["spec"]["hosts"][0]

    cluster.reset_counts()
    second = site(cluster, tmp_path, EXAMPLE_HOSTS)
    assert second.rc == 0, second.stderr
    assert second.changed("cluster-a") == 0
    assert cluster.counts()["writes"] == 0


def test_what_a_run_writes_passes_istios_validation_and_analyzers(cluster, tmp_path):
    assert site(cluster, tmp_path, EXAMPLE_HOSTS).rc == 0
    written = [o for group in istio_objects(cluster).values() for o in group]
    assert len(written) == 8
    # What istiod's admission webhook would say, and Istio's analyzers on the live cluster
    # (which look for the gateway's pods: no controller creates them here).
    assert istio_checks.validate(written) == []
    create_gateway_pod(cluster)
    istio_checks.assert_analyze_clean(cluster)


def test_removed_host_is_pruned_and_unlabelled_look_alikes_are_left_alone(cluster, tmp_path):
    assert site(cluster, tmp_path, EXAMPLE_HOSTS).rc == 0
    look_alike = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "api-github-com-by-hand", "namespace": "istio-system"},
        "spec": {"hosts": ["api.github.com"], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
                 "resolution": "DNS", "location": "MESH_EXTERNAL"},
    }
    cluster.request("POST", "/apis/networking.istio.io/v1/namespaces/istio-system/serviceentries", look_alike)

    result = site(cluster, tmp_path, EXAMPLE_HOSTS[:2])
    assert result.rc == 0, result.stderr
    objects = istio_objects(cluster)
    names = [o["metadata"]["name"] for o in objects["serviceentries"]]
    assert "api-github-com-by-hand" in names
    assert sorted(h for o in objects["serviceentries"] if MANAGED_BY in o["metadata"].get("labels", {}) for h in o["spec"]["hosts"]) == [
        "edition.cnn.com", "httpbin.org"]
    assert hosts_of(objects["virtualservices"]) == ["edition.cnn.com", "httpbin.org"]
    [gateway] = objects["gateways"]
    assert sorted(h for s in gateway["spec"]["servers"] for h in s["hosts"]) == ["edition.cnn.com", "edition.cnn.com", "httpbin.org"]


def test_prune_off_keeps_removed_hosts(cluster, tmp_path):
    assert site(cluster, tmp_path, EXAMPLE_HOSTS).rc == 0
    assert site(cluster, tmp_path, EXAMPLE_HOSTS[:1], external_services_prune=False).rc == 0
    assert len(cluster.objects("serviceentries", "istio-system")) == 3


def test_check_mode_writes_nothing_and_reports_the_changes(cluster, tmp_path):
    result = site(cluster, tmp_path, EXAMPLE_HOSTS, check=True, diff=True)
    assert result.rc == 0, result.stderr
    assert result.changed("cluster-a") > 0
    assert cluster.counts()["writes"] == 0
    assert all(not objs for objs in istio_objects(cluster).values())


def test_invalid_inventory_fails_listing_every_error_with_no_request(cluster, tmp_path):
    bad = [
        {"host": "api..github.com"},
        {"host": "ok.example.com", "ports": [{"number": 70000, "protocol": "HTTP"}]},
        {"host": "*.wild.example.com", "resolution": "DNS"},
        {"host": "httpbin.org", "gateway": True},
        {"host": "httpbin.org"},
    ]
    result = site(cluster, tmp_path, bad)
    assert result.rc != 0
    message = result.stdout
    for fragment in ("external_services_hosts[0]", "external_services_hosts[1]", "external_services_hosts[2]",
                     "external_services_hosts[3]", "external_services_hosts[4]"):
        assert fragment in message
    assert cluster.counts().get("writes", 0) == 0
    assert sum(v for k, v in cluster.counts().items() if k != "writes") == 0


def test_a_normal_run_prints_a_short_summary_and_v_the_objects(cluster, tmp_path):
    hosts = [{"host": "svc-%02d.example.com" % i} for i in range(40)]
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": hosts}})
    # The default callback: what a user (or an AWX job page) reads.
    normal = run_playbook(SITE, inventory=inventory, kubeconfig=cluster.kubeconfig, json_output=False)
    assert normal.rc == 0, normal.stdout[-3000:] + normal.stderr
    # The summary says what happened, with the gateway and the policy ...
    # 40 ServiceEntries, the shared Gateway and DestinationRule; the 40 VirtualServices through the route merge.
    for fragment in ('"cluster": "cluster-a"', '"hosts": 40', '"created": 42', '"create": 40', '"pruned": 0',
                     '"gateway": "istio-egressgateway.istio-system.svc.cluster.local (1/1 ready, installed by other)"',
                     '"outbound_policy": "REGISTRY_ONLY (meshconfig)"'):
        assert fragment in normal.stdout, normal.stdout[-3000:]
    # ... without a line per host or object: the output does not grow with the host list.
    assert "svc-07.example.com" not in normal.stdout
    assert len(normal.stdout.splitlines()) < 200
    # -v: the objects written, by name (here svc-07 replaced by svc-99).
    hosts = [h for h in hosts if h["host"] != "svc-07.example.com"] + [{"host": "svc-99.example.com"}]
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": hosts}})
    verbose = run_playbook(SITE, inventory=inventory, kubeconfig=cluster.kubeconfig, json_output=False, verbosity=1)
    assert verbose.rc == 0
    detail = verbose.stdout[verbose.stdout.index("Route the external hosts through the egress gateway] ***"):]
    assert "svc-07" in detail and "svc-99" in detail
    assert '"pruned": 1' in detail
