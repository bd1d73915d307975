"""kubernetes.core modules, run by a real ansible-playbook, against the server."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    vs:
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: web, namespace: default, labels: {app: demo}}
      spec:
        hosts: [web.example.com]
        http: [{route: [{destination: {host: web}}], timeout: 5s}]
  tasks:
    - name: configmap
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings, namespace: default, labels: {app: demo}}
          data: {mode: strict}
    - name: first apply
      kubernetes.core.k8s: {state: present, apply: true, definition: "{{ vs }}"}
    - name: second apply
      kubernetes.core.k8s: {state: present, apply: true, definition: "{{ vs }}"}
    - name: find
      kubernetes.core.k8s_info:
        api_version: networking.istio.io/v1
        kind: VirtualService
        namespace: default
        label_selectors: [app=demo, "app in (demo, other)"]
    - name: remove
      kubernetes.core.k8s:
        state: absent
        api_version: networking.istio.io/v1
        kind: VirtualService
        namespace: default
        name: web
"""


def run_playbook(tmp_path, kubeconfig):
    """Task name -> result, from ansible-playbook's JSON callback."""
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "ansible.cfg").write_text("")  # keep user/system configuration out
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_DEPRECATION_WARNINGS="0")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               str(tmp_path / "play.yml")]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    if run.returncode:
        pytest.fail("ansible-playbook failed:\n%s\n%s" % (run.stdout[-4000:], run.stderr[-4000:]))
    report = json.loads(run.stdout)
    return {t["task"]["name"]: t["hosts"]["localhost"] for t in report["plays"][0]["tasks"]}


def test_playbook_with_kubernetes_core(k8s_server, tmp_path):
    results = run_playbook(tmp_path, k8s_server.kubeconfig)

    assert [results[t]["changed"] for t in ("configmap", "first apply", "second apply", "remove")] == \
        [True, True, False, True]
    assert [r["metadata"]["name"] for r in results["find"]["resources"]] == ["web"]
    [settings] = [o for o in k8s_server.objects("configmaps", "default") if o["metadata"]["name"] == "settings"]
    assert settings["data"] == {"mode": "strict"} and settings["metadata"]["labels"] == {"app": "demo"}
    assert k8s_server.objects("virtualservices") == []
    counts = k8s_server.counts()
    assert counts["discovery"] >= 3 and (counts["create"], counts["delete"], counts["list"]) == (2, 1, 1)
    assert all(r["status"] < 500 for r in k8s_server.requests)
