"""Auth parity with AWX/Controller: the site playbook with nothing but what an
"OpenShift or Kubernetes API Bearer Token" credential injects.

AWX's injector (awx/main/models/credential/injectors.py,
``kubernetes_bearer_token``) sets ``K8S_AUTH_HOST`` and ``K8S_AUTH_API_KEY``,
and, when the credential verifies TLS and has a CA, ``K8S_AUTH_VERIFY_SSL=True``
plus ``K8S_AUTH_SSL_CA_CERT`` (a file it writes into the job's private data
dir); otherwise ``K8S_AUTH_VERIFY_SSL=False``. There is no kubeconfig in an
execution environment, so the runs below have none: HOME is an empty temp dir,
KUBECONFIG points at a file that does not exist and helpers.playbook drops
every inherited K8S_AUTH_* variable. The server answers 401 to any request
without a credential it knows and only speaks TLS with its own CA; the token
is a ServiceAccount's, from the TokenRequest API, and the audit log shows
whose each request was, so a run that converges as that ServiceAccount
proves every cluster call took its credentials from the environment.

The survey answers (docs/awx-survey.json defaults) go in as extra vars, as
strings, the way AWX passes them; the inventory gives the ports as strings.
"""
import json
import os
import re
import secrets
import sys
from pathlib import Path

import pytest

from helpers.cluster import install_istio
from helpers.credentials import cluster_admin_token
from helpers.inventory import write_inventory
from helpers.playbook import ansible_env, run_playbook

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"
SITE = "meshops.istio_egress.site"
ISTIO_PLURALS = ("serviceentries", "gateways", "destinationrules", "virtualservices")

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

SURVEY = ROOT / "docs" / "awx-survey.json"
# Inventory data as a project-sourced inventory would give it, with the ports
# as strings (the form a survey or a text field gives them).
HOSTS = [
    {"host": "httpbin.org", "ports": [{"number": "80", "protocol": "HTTP"}]},
    {"host": "api.github.com", "ports": [{"number": "443", "protocol": "TLS"}]},
    {"host": "edition.cnn.com", "ports": [{"number": "80", "protocol": "HTTP"}, {"number": "443", "protocol": "TLS"}],
     "via_gateway": "true"},
]


def survey_answers(**changes):
    """The extra vars AWX passes for docs/awx-survey.json's default answers: all strings."""
    answers = {question["variable"]: question["default"] for question in json.loads(SURVEY.read_text())["spec"]}
    answers.update(changes)
    assert all(isinstance(value, str) for value in answers.values())
    return answers


@pytest.fixture
def cluster(apiserver):
    """Istio's CRDs, mesh ConfigMap and egress gateway."""
    install_istio(apiserver)
    return apiserver


@pytest.fixture
def service_account(cluster):
    """(token, user) of a ServiceAccount bound to cluster-admin, as the AWX credential holds it."""
    credential = cluster_admin_token(cluster)
    cluster.reset_counts()
    return credential


@pytest.fixture
def token(service_account):
    return service_account[0]


@pytest.fixture
def awx_job(tmp_path):
    """An inventory with one cluster (ports as strings) and an empty HOME."""
    home = tmp_path / "home"
    home.mkdir()
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": HOSTS}})
    return inventory, home


def credential_env(server, api_key, home, ca_cert=True):
    """Exactly the variables AWX injects for a Bearer Token credential with
    "Verify SSL" on, plus an environment with no kubeconfig to fall back to."""
    env = {
        "HOME": str(home),
        "KUBECONFIG": str(home / ".kube" / "config"),  # does not exist: an inherited one must not be used
        "K8S_AUTH_HOST": server.url,
        "K8S_AUTH_API_KEY": api_key,
        "K8S_AUTH_VERIFY_SSL": "True",
    }
    if ca_cert:
        env["K8S_AUTH_SSL_CA_CERT"] = server.ca_file
    # What ansible-playbook will get: no kubeconfig or context from anywhere.
    effective = ansible_env(None, env)
    assert not {"K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT"} & set(effective)
    assert not os.path.exists(effective["KUBECONFIG"])
    return env


def site(inventory, env, verbosity=0, answers=None):
    # Default callback: the text a user reads in the AWX job output.
    result = run_playbook(SITE, inventory=inventory, extra_vars=answers or survey_answers(), kubeconfig=None, env=env,
                          verbosity=verbosity, json_output=False)
    assert not (Path(env["HOME"]) / ".kube").exists()
    return result


def recap(result, host="cluster-a"):
    match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), result.stdout, re.MULTILINE)
    assert match, result.stdout[-3000:] + result.stderr[-3000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def failure(result):
    """The text of the task that failed the play (one line, or JSON over several lines at -vvv);
    a failure rescued before it is not what the user reads as the reason."""
    start = result.stdout.rfind("fatal: [cluster-a]: FAILED!")
    assert start >= 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout[start:result.stdout.find("PLAY RECAP", start)]


def output(result):
    return result.stdout + result.stderr


def test_bearer_token_environment_converges_and_a_rerun_writes_nothing(cluster, service_account, token, awx_job):
    inventory, home = awx_job
    env = credential_env(cluster, token, home)

    first = site(inventory, env)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-4000:]
    assert recap(first)["changed"] > 0
    assert token not in output(first)
    objects = {plural: cluster.objects(plural, "istio-system") for plural in ISTIO_PLURALS}
    assert sorted(h for o in objects["serviceentries"] for h in o["spec"]["hosts"]) == ["api.github.com", "edition.cnn.com", "httpbin.org"]
    assert sorted(h for o in objects["virtualservices"] for h in o["spec"]["hosts"]) == ["api.github.com", "edition.cnn.com", "httpbin.org"]
    assert len(objects["gateways"]) == 1 and len(objects["destinationrules"]) == 1
    [gateway] = objects["gateways"]
    # The string ports became numbers in the objects.
    assert sorted(s["port"]["number"] for s in gateway["spec"]["servers"]) == [80, 443]
    [mesh] = [c for c in cluster.objects("configmaps", "istio-system") if c["metadata"]["name"] == "istio"]
    assert "REGISTRY_ONLY" in mesh["data"]["mesh"]
    # not one request refused: every one carried the token (the one 404 is the read of the
    # ApplySet parent its first run then creates)
    assert [(r["verb"], r["plural"], r["status"]) for r in cluster.requests if r["status"] >= 400] == [
        ("get", "configmaps", 404)]
    assert {r["user"] for r in cluster.requests} == {service_account[1]}

    # The rerun at -vvv: nothing to write, and the token is still nowhere in the output.
    cluster.reset_counts()
    second = site(inventory, env, verbosity=3)
    assert second.rc == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert recap(second)["changed"] == 0
    assert cluster.counts()["writes"] == 0
    assert cluster.counts()["failed"] == 0
    assert token not in output(second)

    # The survey's "false" is a string too: with prune "false" a host removed from
    # the inventory keeps its objects.
    cluster.reset_counts()
    inventory.write_text(inventory.read_text().replace("httpbin.org", "postman-echo.com"))
    third = site(inventory, env, answers=survey_answers(external_services_prune="false"))
    assert third.rc == 0, third.stdout[-4000:] + third.stderr[-4000:]
    assert cluster.counts()["delete"] == 0
    assert "httpbin.org" in [h for o in cluster.objects("serviceentries", "istio-system") for h in o["spec"]["hosts"]]


def test_wrong_token_fails_with_401_and_writes_nothing(cluster, token, awx_job):
    inventory, home = awx_job
    wrong = secrets.token_urlsafe(32)
    result = site(inventory, credential_env(cluster, wrong, home), verbosity=3)
    assert result.rc != 0
    assert recap(result)["failed"] == 1
    fatal = failure(result)
    assert "refused the credentials (401 Unauthorized)" in fatal and "K8S_AUTH_API_KEY" in fatal, result.stdout[-4000:]
    assert "Original traceback" not in fatal
    # The API server saw the wrong token and refused it; not one request got in as anyone.
    refused = cluster.unauthenticated_requests
    assert refused and all(r["status"] == 401 for r in refused), refused
    assert cluster.requests == []
    assert wrong not in output(result) and token not in output(result)


def test_verify_ssl_without_the_ca_fails_on_certificate_verification(cluster, token, awx_job):
    inventory, home = awx_job
    result = site(inventory, credential_env(cluster, token, home, ca_cert=False))
    assert result.rc != 0
    assert recap(result)["failed"] == 1
    fatal = failure(result)
    assert "TLS certificate could not be verified (certificate verify failed" in fatal, result.stdout[-4000:]
    assert "K8S_AUTH_SSL_CA_CERT" in fatal
    # The TLS handshake failed: the server never saw a request, let alone a write.
    assert cluster.requests == [] and cluster.unauthenticated_requests == []
    assert token not in output(result)


ISTIOCTL_STUB = Path(__file__).resolve().parent / "playbooks" / "stubs" / "installer_stub.py"
EGRESS_GATEWAY_PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "egress_gateway.yml"


def test_istioctl_install_mode_reaches_the_cluster_with_the_bearer_token(cluster, token, tmp_path):
    """egress_gateway_install=istioctl with the Bearer Token credential: the stub
    istioctl (tests/integration/playbooks/stubs) installs through the kubeconfig
    it is given, as the real one does."""
    home = tmp_path / "home"
    home.mkdir()
    stub = tmp_path / "bin" / "istioctl"
    stub.parent.mkdir()
    stub.write_text("#!%s\n%s" % (sys.executable, ISTIOCTL_STUB.read_text()))
    stub.chmod(0o755)
    # No gateway yet: istioctl is to install it.
    cluster.request("DELETE", "/apis/apps/v1/namespaces/istio-system/deployments/istio-egressgateway")
    cluster.request("DELETE", "/api/v1/namespaces/istio-system/services/istio-egressgateway")
    # No controllers run: the Deployment istioctl creates is reported rolled out, as they would.
    cluster.roll_out_deployments()
    base = tmp_path / "mine.yaml"
    base.write_text("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec: {profile: minimal}\n")
    env = credential_env(cluster, token, home)
    env["PATH"] = "%s%s%s" % (stub.parent, os.pathsep, os.environ.get("PATH", ""))
    result = run_playbook(EGRESS_GATEWAY_PLAYBOOK, kubeconfig=None, env=env, json_output=False, extra_vars={
        "egress_gateway_install": "istioctl", "egress_gateway_work_dir": str(tmp_path / "work"),
        "egress_gateway_istioctl_files": [str(base)]})
    assert token not in output(result)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert [d["metadata"]["name"] for d in cluster.objects("deployments", "istio-system")] == ["istio-egressgateway"]
    # istioctl got a kubeconfig (the stub installs through the file it is given) ...
    calls = [json.loads(line) for line in (stub.parent / "istioctl.log").read_text().splitlines()]
    [install] = [c["argv"] for c in calls if c["argv"][1:2] == ["install"]]
    written = install[install.index("--kubeconfig") + 1]
    assert Path(written).parent == tmp_path / "work"
    # ... that does not outlive the task.
    assert not Path(written).exists()
