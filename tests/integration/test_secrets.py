"""Credentials never reach the output: the bearer token, a client key and
the contents of the TLS credential a host uses, in normal, -vvv, check and
diff runs of playbooks/site.yml, with the credentials given the way AWX
injects them (K8S_AUTH_* environment, no kubeconfig) and the way a
kubeconfig carries them.
"""
import base64
import secrets
from pathlib import Path

import pytest

from helpers.cluster import install_istio
from helpers.inventory import write_inventory
from helpers.playbook import run_playbook
from k8s_server import start_server
from k8s_server.tls import write_certificates

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


@pytest.fixture
def token():
    return secrets.token_urlsafe(32)


@pytest.fixture
def cluster(token):
    with start_server(crd_file=str(ISTIO_CRDS), tls=True, token=token) as server:
        server.create_namespace("istio-system")
        install_istio(server)
        yield server


@pytest.fixture
def client_key(tmp_path):
    """A certificate and private key pair the runs are given as client credentials (files)."""
    paths = write_certificates(str(tmp_path))
    return paths["server.crt"], paths["server.key"]


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


def awx_env(server, token, home, client):
    """What an AWX Bearer Token credential injects, plus client certificate files."""
    return {"HOME": str(home), "KUBECONFIG": str(home / "absent"), "K8S_AUTH_HOST": server.url, "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": server.ca_file,
            "K8S_AUTH_CERT_FILE": client[0], "K8S_AUTH_KEY_FILE": client[1]}


def run(inventory, env=None, kubeconfig=None, **options):
    result = run_playbook(SITE, inventory=inventory, kubeconfig=kubeconfig, env=env, json_output=False, **options)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout + result.stderr


def test_no_run_mode_shows_the_token_or_a_key(cluster, token, client_key, tmp_path):
    tls_credential(cluster, client_key[1])
    home = tmp_path / "home"
    home.mkdir()
    env = awx_env(cluster, token, home, client_key)
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": HOSTS}})

    # The first run with --diff shows every object it creates (the credential's name among them).
    outputs = {"--diff": run(inventory, env, diff=True)}
    # A change to show: one host more, seen in check and diff mode at -vvv, then applied.
    inventory = write_inventory(tmp_path, {"cluster-a": {"external_services_hosts": HOSTS + [{"host": "postman-echo.com"}]}})
    outputs["-vvv --check --diff"] = run(inventory, env, verbosity=3, check=True, diff=True)
    outputs["normal"] = run(inventory, env)
    # The same cluster through a kubeconfig that holds the token, at -vvv.
    outputs["-vvv"] = run(inventory, kubeconfig=cluster.kubeconfig, verbosity=3)

    # (The search finds each secret where it is.)
    key = Path(client_key[1]).read_text()
    assert leaks(token + key + base64.b64encode(key.encode()).decode(), token, client_key[1]) == [
        "the bearer token", "the private key", "the Secret's tls.key"]
    found = dict((mode, leaks(text, token, client_key[1])) for mode, text in outputs.items())
    assert not any(found.values()), found
    # Not because the output was blanked: it still says what was done, to which hosts.
    assert "egress-client" in outputs["--diff"] and "mtls.example.com" in outputs["--diff"]
    assert "postman-echo.com" in outputs["-vvv --check --diff"]
    assert '"created": 1' in outputs["normal"], outputs["normal"][-3000:]
    assert "egress_hosts" in outputs["-vvv"] and "invocation" in outputs["-vvv"]
