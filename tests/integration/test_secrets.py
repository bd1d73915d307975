"""Credentials never reach the output: the bearer token, a client key and
the contents of the TLS credential a host uses, in normal, -vvv, check and
diff runs of playbooks/site.yml, with the credentials given the way AWX
injects them (K8S_AUTH_* environment with a ServiceAccount token, no
kubeconfig) and the way a kubeconfig carries them (a client certificate and
its key). The API server authenticates each, so every run proves its
credential was used.
"""
import base64
from pathlib import Path

import pytest
import yaml

from helpers.cluster import install_istio
from helpers.credentials import cluster_admin_token
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"
SITE = "meshops.istio_egress.site"

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

HOSTS = [
    {"host": "httpbin.org"},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
    # Mutual TLS origination: the gateway presents the client certificate of Secret egress-client.
    {"host": "mtls.example.com", "tls_origination": True, "credential_name": "egress-client"},
]


CLIENT_USER = "meshops-secrets-client"


@pytest.fixture
def cluster(apiserver):
    install_istio(apiserver)
    return apiserver


@pytest.fixture
def service_account(cluster):
    """(token, user): a ServiceAccount token from the TokenRequest API."""
    return cluster_admin_token(cluster)


@pytest.fixture
def client(cluster):
    """A kubeconfig authenticating with a client certificate, and its private key file."""
    kubeconfig = cluster.user_kubeconfig(CLIENT_USER)
    key_file = yaml.safe_load(Path(kubeconfig).read_text())["users"][0]["user"]["client-key"]
    return kubeconfig, key_file


def tls_credential(server, key_file):
    """The Secret credential_name names, holding a private key: its contents must stay in the cluster."""
    key = Path(key_file).read_bytes()
    server.request("POST", "/api/v1/namespaces/istio-system/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "egress-client", "namespace": "istio-system"},
        "type": "kubernetes.io/tls",
        "data": {"tls.key": base64.b64encode(key).decode(), "tls.crt": base64.b64encode(b"not a certificate").decode()}})


def pem_body(path):
    """The base64 lines of a PEM file: what a leak would show, wrapped or not."""
    lines = [line for line in Path(path).read_text().splitlines() if line and not line.startswith("-----")]
    return lines


def leaks(output, token, key_file):
    found = []
    if token in output:
        found.append("the bearer token")
    body = pem_body(key_file)
    if any(line in output for line in body) or "".join(body) in output:
        found.append("the private key")
    encoded = base64.b64encode(Path(key_file).read_bytes()).decode()
    if encoded[:40] in output:
        found.append("the Secret's tls.key")
    return found


def awx_env(server, token, home):
    """What an AWX Bearer Token credential injects."""
    return {"HOME": str(home), "KUBECONFIG": str(home / "absent"), "K8S_AUTH_HOST": server.url, "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": server.ca_file}


def run(inventory, env=None, kubeconfig=None, **options):
    result = run_playbook(SITE, inventory=inventory, kubeconfig=kubeconfig, env=env, json_output=False, **options)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout + result.stderr


def test_no_run_mode_shows_the_token_or_a_key(cluster, service_account, client, tmp_path):
    token, account = service_account
    kubeconfig, key_file = client
    tls_credential(cluster, key_file)
    home = tmp_path / "home"
    home.mkdir()
    env = awx_env(cluster, token, home)
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": HOSTS}})
    cluster.reset_counts()

    # The first run with --diff shows every object it creates (the credential's name among them).
    outputs = {"--diff": run(inventory, env, diff=True)}
    # A change to show: one host more, seen in check and diff mode at -vvv, then applied.
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": HOSTS + [{"host": "postman-echo.com"}]}})
    outputs["-vvv --check --diff"] = run(inventory, env, verbosity=3, check=True, diff=True)
    outputs["normal"] = run(inventory, env)
    # The same cluster through a kubeconfig that holds a client certificate and key, at -vvv.
    outputs["-vvv"] = run(inventory, kubeconfig=kubeconfig, verbosity=3)
    # The API server authenticated every request, by the token or by the certificate.
    users = set(r["user"] for r in cluster.requests)
    assert users == {account, CLIENT_USER}, [(r["user"], r["verb"], r["plural"], r["namespace"], r["name"], r["status"])
                                             for r in cluster.requests if r["user"] not in (account, CLIENT_USER)]

    # (The search finds each secret where it is.)
    key = Path(key_file).read_text()
    assert leaks(token + key + base64.b64encode(key.encode()).decode(), token, key_file) == [
        "the bearer token", "the private key", "the Secret's tls.key"]
    found = dict((mode, leaks(text, token, key_file)) for mode, text in outputs.items())
    assert not any(found.values()), found
    # Not because the output was blanked: it still says what was done, to which hosts.
    assert "egress-client" in outputs["--diff"] and "mtls.example.com" in outputs["--diff"]
    assert "postman-echo.com" in outputs["-vvv --check --diff"]
    assert '"created": 1' in outputs["normal"], outputs["normal"][-3000:]
    # -vvv prints the module's arguments (its invocation), the host list among them.
    assert '"invocation"' in outputs["-vvv"] and '"module_args"' in outputs["-vvv"] and "postman-echo.com" in outputs["-vvv"]
