"""``molecule test`` of molecule/default, as CI runs it.

The scenario starts one test control plane (etcd + kube-apiserver, Istio's
CRDs) per cluster of its inventory (create.yml), runs meshops.istio_egress.site
(converge), reruns it expecting no change (idempotence), reads the Istio
objects back (verify.yml) and stops the control planes (destroy.yml). The
collection comes from MESHOPS_COLLECTIONS_PATH (the installed tarball) when
set, else from the source tree.
"""
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

from control_plane import assets_dir
from helpers.playbook import BIN, ansible_env

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("molecule") is None, reason="molecule is not installed (requirements-test.txt)"),
    pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS),
]


def processes_mentioning(text):
    """Ids of the running processes whose command line contains ``text``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as stream:
                if text.encode() in stream.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_molecule_default_scenario(tmp_path):
    ephemeral = tmp_path / "ephemeral"
    env = ansible_env(extra={
        "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
        "ISTIO_CRD_BUNDLE": str(ISTIO_CRDS),
        "KUBEBUILDER_ASSETS": assets_dir(),
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    })
    # molecule writes its own ansible.cfg per scenario; the tests' one must not win.
    del env["ANSIBLE_CONFIG"]
    proc = subprocess.run([str(BIN / "molecule"), "test", "--scenario-name", "default"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out[-8000:]
    for stage in ("syntax", "create", "converge", "idempotence", "verify", "destroy"):
        assert re.search(r"default \S+ %s: Executed: Successful" % stage, out), stage + "\n" + out[-4000:]
    # destroy.yml stopped both control planes and removed their kubeconfigs and
    # work dirs; etcd and kube-apiserver name their work dir (under the cluster's
    # directory) on their command lines.
    assert not (ephemeral / "clusters").exists() or not any((ephemeral / "clusters").iterdir())
    assert processes_mentioning(str(ephemeral)) == []
