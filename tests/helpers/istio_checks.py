"""Istio's own checks on what the collection writes, through the istioctl the tests built.

- ``validate(objects)``: ``istioctl validate``, the Go validation istiod's
  admission webhook runs (schemas and Istio's semantic checks);
- ``analyze(kubeconfig)``: ``istioctl analyze`` against a live API server, the
  analyzers Istio ships (references between objects, conflicts, ...).
"""
import json
import os
import subprocess
import tempfile

import yaml

from control_plane.assets import istioctl


def validate(objects):
    """``istioctl validate`` on ``objects`` (dicts): the list of problems it reports
    (errors and warnings), empty when it accepts them all."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as stream:
        yaml.safe_dump_all(list(objects), stream, sort_keys=False)
    try:
        proc = subprocess.run([istioctl(), "validate", "-f", stream.name], capture_output=True, text=True,
                              timeout=120, check=False)
    finally:
        os.unlink(stream.name)
    output = (proc.stdout + proc.stderr).strip()
    problems = [line.strip() for line in output.splitlines()
                if line.strip() and "validation succeed" not in line and not line.strip().endswith("is valid")]
    if proc.returncode != 0 and not problems:
        problems = ["istioctl validate exited %d" % proc.returncode]
    return problems


def analyze(kubeconfig, namespace=None, timeout=120):
    """``istioctl analyze`` against the API server of ``kubeconfig`` (all namespaces, or
    one): its messages as dicts with ``code``, ``level``, ``message``, ``origin``."""
    argv = [istioctl(), "analyze", "--kubeconfig", str(kubeconfig), "-o", "json", "--timeout", "%ds" % timeout]
    argv += ["-n", namespace] if namespace else ["--all-namespaces"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30, check=False)
    text = proc.stdout.strip()
    if not text.startswith("["):
        raise AssertionError("istioctl analyze gave no JSON (exit %d): %s %s"
                             % (proc.returncode, text[-2000:], proc.stderr[-2000:]))
    return json.loads(text)


def assert_analyze_clean(plane, expected=None, namespace=None):
    """istioctl analyze on the live control plane finds no error or warning, but the ones
    ``expected`` allows: {code: (predicate on the message, why it is expected)}."""
    expected = expected or {}
    found = ["%s %s %s: %s" % (m.get("level"), m.get("code"), m.get("origin"), m.get("message"))
             for m in analyze(plane.admin_kubeconfig, namespace)
             if m.get("level") in ("Error", "Warning") and not (m.get("code") in expected and expected[m["code"]][0](m))]
    assert found == [], "istioctl analyze:\n" + "\n".join(found)
