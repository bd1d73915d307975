"""playbooks/verify.yml against the test control plane.

No container runs there, so the tests play the rest of the mesh the way a
cluster would: Istio's sidecar injector is a mutating admission webhook (the
control plane's stand-in adds istio-proxy to pods created in namespaces
labelled istio-injection=enabled), and once the client pod is created a
kubelet stand-in "runs" it: it writes the pod's log from the requests its
script lists (as curl would print them), the egress gateway's access log
lines for the hosts the test says the gateway saw, and the pod's status.
"""
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers.cluster import MESH_CONFIG, create_gateway_pod, install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

VERIFY = "meshops.istio_egress.verify"
GATEWAY_POD = "istio-egressgateway-7d4f9c-x2x5q"
CLIENT_IP = "10.244.1.17"
HOSTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
]
CHECK = re.compile(r"^check (\d+) (\S+) (\d+) '(\S+)'$", re.M)


def access_line(when, host, port, client_ip, tls):
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if tls:
        return ('[{0}] "- - -" 0 - - - "-" 839 5432 120 - "-" "-" "-" "-" "140.82.112.6:{2}" outbound|{2}||{1} '
                '10.244.2.5:53314 10.244.2.5:8443 {3}:40120 {1} -'.format(stamp, host, port, client_ip))
    return ('[{0}] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 9593 45 44 "{3}" "curl/8.11.1" "3c1c4f0a" "{1}" '
            '"34.227.213.82:{2}" outbound|{2}||{1} 10.244.2.5:40618 10.244.2.5:8080 {3}:51234 {1} -'.format(stamp, host, port, client_ip))


class Mesh:
    """What the kubelet, curl and the egress gateway would do once the client pod is created."""

    def __init__(self, server, unseen=(), answers=None, complete=True):
        self.server, self.unseen, self.answers, self.complete = server, set(unseen), answers or {}, complete
        self.pods = []
        server.on_create("pods", self.run)

    def run(self, pod):
        if pod["metadata"]["namespace"] != "default":
            return None
        self.pods.append(pod)
        if not self.complete:  # started, never finishes
            return dict(pod, status=pod_status("Running", CLIENT_IP))
        [client_container] = [c for c in pod["spec"]["containers"] if c["name"] == "verify"]
        script = client_container["command"][2]
        now = datetime.now(timezone.utc)
        client, gateway = [], [access_line(now - timedelta(minutes=10), "httpbin.org", 80, CLIENT_IP, False)]
        for index, host, port, url in CHECK.findall(script):
            exit_code, code = self.answers.get(host, (0, 200))
            client.append("VERIFY id={0} host={1} port={2} exit={3}  code={4:03d}".format(index, host, port, exit_code, code))
            if exit_code == 0 and host not in self.unseen and host != "example.com":
                gateway.append(access_line(now, host, int(port), CLIENT_IP, url.startswith("https")))
        self.server.set_pod_log("default", pod["metadata"]["name"], "\n".join(client) + "\n")
        self.server.set_pod_log("istio-system", GATEWAY_POD, "\n".join(gateway) + "\n")
        return dict(pod, status=pod_status("Succeeded", CLIENT_IP))


def pod_status(phase, ip):
    """What the kubelet reports for a pod on its node."""
    return {"phase": phase, "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def wait_for_injection(server, namespace, timeout=10):
    """The API server picks up a new webhook configuration within a moment: wait until a
    server-side dry-run create of a pod comes back with the sidecar."""
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "injection-probe", "namespace": namespace},
             "spec": {"containers": [{"name": "probe", "image": "busybox"}]}}
    deadline = time.monotonic() + timeout
    while True:
        answer = server.request("POST", "/api/v1/namespaces/%s/pods?dryRun=All" % namespace, probe)
        if any(c["name"] == "istio-proxy" for c in answer["spec"]["containers"]):
            return
        assert time.monotonic() < deadline, "the sidecar injector webhook never took effect"
        time.sleep(0.1)


@pytest.fixture
def cluster(apiserver):
    install_istio(apiserver)
    apiserver.create_namespace("default")
    apiserver.request("PATCH", "/api/v1/namespaces/default", {"metadata": {"labels": {"istio-injection": "enabled"}}},
                      content_type="application/merge-patch+json")
    apiserver.inject_sidecars()
    wait_for_injection(apiserver, "default")
    # The gateway pod, on the stand-in node and Running: what the preflight and the log reads look for.
    create_gateway_pod(apiserver, name=GATEWAY_POD, ip="10.244.2.5")
    apiserver.set_pod_log("istio-system", GATEWAY_POD, "")
    apiserver.reset_counts()
    return apiserver


def object_uids(server):
    """Every object the API server stores, by uid (componentstatuses are computed, not stored)."""
    return {o["metadata"]["uid"] for plural, resource in server.resources().items()
            if "list" in resource.verbs and plural != "componentstatuses" for o in server.objects(plural)}


def verify(server, tmp_path, **host_vars):
    # A short timeout: should a stand-in break, the test fails in seconds, not minutes.
    host_vars = dict({"external_services_hosts": HOSTS, "verify_log_delay": 0, "verify_timeout": 30}, **host_vars)
    inventory = write_inventory(tmp_path, {"cluster-a": host_vars})
    return run_playbook(VERIFY, inventory=inventory, kubeconfig=server.kubeconfig, json_output=False)


def table(stdout):
    """The table's rows as {(host, port): [cells]}, read from the debug output."""
    rows = {}
    for line in re.findall(r'^\s+"([^"]*\|[^"]*)",?$', stdout, re.M):
        cells = [cell.strip() for cell in line.split("|")]
        if cells[0] != "host" and not set(line) <= {"-", "+"}:
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_every_declared_host_is_verified_and_the_undeclared_one_refused(cluster, tmp_path):
    mesh = Mesh(cluster, answers={"example.com": (0, 502)})
    before = object_uids(cluster)
    result = verify(cluster, tmp_path)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr
    rows = table(result.stdout)
    assert rows == {
        ("httpbin.org", "80"): ["HTTP 200", "yes", "34.227.213.82:80", "verified"],
        ("edition.cnn.com", "80"): ["HTTP 200", "yes", "34.227.213.82:80", "verified"],
        ("edition.cnn.com", "443"): ["TLS ok, HTTP 200", "yes", "140.82.112.6:443", "verified"],
        ("api.github.com", "443"): ["TLS ok, HTTP 200", "yes", "140.82.112.6:443", "verified"],
        ("example.com (undeclared)", "80"): ["HTTP 502", "no", "-", "refused, as expected"],
    }
    assert "cluster-a: 4 of 4 declared host ports verified; undeclared host refused" in result.stdout
    # Only its own pod was created, and it is gone; nothing else changed.
    [pod] = mesh.pods
    assert pod["metadata"]["name"].startswith("egress-verify-")
    # The client ran in the mesh: the injector gave it the sidecar when the API server stored it.
    assert "istio-proxy" in [c["name"] for c in pod["spec"]["containers"]]
    assert object_uids(cluster) == before
    writes = [r for r in cluster.requests if r["verb"] in ("create", "update", "patch", "delete") and not r["dry_run"]]
    assert [(r["verb"], r["plural"]) for r in writes] == [("create", "pods"), ("delete", "pods")]


def test_a_host_missing_from_the_gateway_log_fails_the_play_and_the_pod_is_removed(cluster, tmp_path):
    mesh = Mesh(cluster, unseen={"api.github.com"}, answers={"example.com": (56, 0)})
    result = verify(cluster, tmp_path)
    assert result.rc != 0
    rows = table(result.stdout)
    assert rows[("api.github.com", "443")] == ["TLS ok, HTTP 200", "no", "-", "NOT VERIFIED: not in the egress gateway's access log"]
    assert rows[("httpbin.org", "80")][-1] == "verified"
    assert "1 check(s) not verified" in result.stdout and "api.github.com:443 - NOT VERIFIED" in result.stdout
    assert len(mesh.pods) == 1 and cluster.objects("pods", "default") == []


def test_report_only_prints_the_table_and_does_not_fail(cluster, tmp_path):
    Mesh(cluster, unseen={"httpbin.org"}, answers={"example.com": (0, 200)})
    result = verify(cluster, tmp_path, verify_report_only=True)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr
    rows = table(result.stdout)
    assert rows[("httpbin.org", "80")][-1] == "NOT VERIFIED: not in the egress gateway's access log"
    assert rows[("example.com (undeclared)", "80")][-1].startswith("NOT REFUSED: it answered HTTP 200")
    assert "report only - 2 check(s) not verified" in result.stdout
    assert cluster.objects("pods", "default") == []


def test_access_logging_off_is_said_clearly_and_nothing_is_created(cluster, tmp_path):
    mesh = Mesh(cluster)
    cluster.request("PATCH", "/api/v1/namespaces/istio-system/configmaps/istio",
                    {"data": {"mesh": MESH_CONFIG.replace("accessLogFile: /dev/stdout\n", "")}},
                    content_type="application/merge-patch+json")
    result = verify(cluster, tmp_path)
    assert result.rc != 0
    assert "Access logging is off in the mesh: ConfigMap istio-system/istio has no meshConfig.accessLogFile" in result.stdout
    assert mesh.pods == [] and cluster.counts()["writes"] == 0


def test_a_client_pod_that_never_completes_fails_clearly_and_is_removed(cluster, tmp_path):
    mesh = Mesh(cluster, complete=False)
    result = verify(cluster, tmp_path, verify_timeout=2)
    assert result.rc != 0
    assert "did not complete within 2 s (phase Running)" in result.stdout
    assert len(mesh.pods) == 1
    # A running pod's delete is graceful: the API server marks it and its kubelet (none here)
    # removes it once the containers stop; a pod of a Succeeded run goes at once (tests above).
    [left] = cluster.objects("pods", "default")
    assert left["metadata"]["uid"] == mesh.pods[0]["metadata"]["uid"] and left["metadata"].get("deletionTimestamp")
    assert [(r["verb"], r["name"]) for r in cluster.requests if r["verb"] == "delete"] == [("delete", left["metadata"]["name"])]
