"""Counters, request log, fault injection, bearer tokens, TLS and the CLI."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client, config

from _helpers import status_of
from k8s_server import TestAPIServer, start_server

TESTS = Path(__file__).resolve().parents[1]


def test_counts_and_request_log(k8s_server_bare):
    core = client.CoreV1Api(k8s_server_bare.client())
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}}, dry_run="All")
    core.read_namespaced_config_map("c", "default")
    core.list_namespaced_config_map("default")
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "b"}})
    core.delete_namespaced_config_map("c", "default")
    with pytest.raises(client.ApiException):
        core.delete_namespaced_config_map("c", "default")
    client.CoreApi(k8s_server_bare.client()).get_api_versions()
    counts = k8s_server_bare.counts()
    assert {k: counts[k] for k in ("create", "get", "list", "patch", "delete", "discovery")} == dict(
        create=1, get=1, list=1, patch=1, delete=2, discovery=1)
    assert (counts["writes"], counts["dry_run"], counts["failed"]) == (3, 1, 1)
    first = k8s_server_bare.requests[0]
    assert {k: first[k] for k in ("verb", "method", "plural", "kind", "namespace", "name", "dry_run", "status")} == \
        dict(verb="create", method="POST", plural="configmaps", kind="ConfigMap", namespace="default", name="c",
             dry_run=False, status=201)
    # A dry-run create is logged with the name it would have created.
    assert (k8s_server_bare.requests[1]["name"], k8s_server_bare.requests[1]["dry_run"]) == ("dry", True)
    k8s_server_bare.reset_counts()
    assert k8s_server_bare.requests == [] and k8s_server_bare.counts()["writes"] == 0


def test_injected_faults(k8s_server_bare):
    core = client.CoreV1Api(k8s_server_bare.client())
    fault = k8s_server_bare.inject_fault({"verb": "create", "plural": "configmaps"}, status=503, retry_after=2)
    with pytest.raises(client.ApiException) as error:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert status_of(error.value)[:2] == (503, "ServiceUnavailable") and error.value.headers["Retry-After"] == "2"
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})  # times=1 ran out
    assert fault.hits == 1 and "c" in [o["metadata"]["name"] for o in k8s_server_bare.objects("configmaps")]

    k8s_server_bare.inject_fault(lambda r: r["verb"] == "get", status=None, delay=0.2, times=None)
    started = time.monotonic()
    core.read_namespaced_config_map("c", "default")
    assert time.monotonic() - started >= 0.2
    k8s_server_bare.clear_faults()

    # A dropped connection: urllib3 retries it, as it would against a real server.
    k8s_server_bare.inject_fault({"verb": "list"}, drop=True)
    core.list_namespaced_config_map("default")
    assert [r["status"] for r in k8s_server_bare.requests if r["verb"] == "list"] == [0, 200]


def test_bearer_token_and_tls():
    with start_server(tls=True, token="s3cret") as server:
        assert server.url.startswith("https://")
        api = config.new_client_from_config(config_file=server.kubeconfig)
        assert [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items][:1] == ["default"]
        anonymous = client.Configuration()
        anonymous.host, anonymous.ssl_ca_cert = server.url, server.ca_file
        with pytest.raises(client.ApiException) as error:
            client.CoreV1Api(client.ApiClient(anonymous)).list_namespace()
        assert status_of(error.value) == (401, "Unauthorized", "Unauthorized")


def test_require_token_later_rewrites_the_kubeconfig(k8s_server_bare):
    k8s_server_bare.require_token("t")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(k8s_server_bare.url + "/api/v1/namespaces")
    assert error.value.code == 401
    api = config.new_client_from_config(config_file=k8s_server_bare.kubeconfig)
    assert client.CoreV1Api(api).read_namespace("default").metadata.name == "default"


def test_cli_serves_until_sigterm_and_saves_state(tmp_path):
    kubeconfig, state = tmp_path / "kubeconfig", tmp_path / "state.json"
    command = [sys.executable, str(TESTS / "k8s_server"), "--port", "0", "--kubeconfig", str(kubeconfig),
               "--state-file", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=""))
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
        core.create_namespaced_config_map("default", {"metadata": {"name": "kept"}})
        counts = json.load(urllib.request.urlopen(url + "/_test/counts"))
        assert counts["create"] == 1 and counts["writes"] == 1
        urllib.request.urlopen(urllib.request.Request(url + "/_test/reset", method="POST"))
        assert json.load(urllib.request.urlopen(url + "/_test/counts"))["create"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    restarted = TestAPIServer()
    restarted.load_state(str(state))  # what the CLI does at start when the state file exists
    with restarted.start():
        core = client.CoreV1Api(restarted.client())
        assert core.read_namespaced_config_map("kept", "default").metadata.name == "kept"
        created = core.create_namespaced_config_map("default", {"metadata": {"name": "new"}})
        assert int(created.metadata.resource_version) > int(json.loads(state.read_text())["revision"])
