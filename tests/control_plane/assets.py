"""Where the control plane's binaries and Istio's CRD bundle are."""
import functools
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"


@functools.lru_cache(maxsize=1)
def assets_dir():
    """KUBEBUILDER_ASSETS when it holds all three binaries (scripts/test.sh exports what
    scripts/envtest-assets.sh printed), else whatever that script prints (it builds on
    first use, which takes minutes)."""
    given = os.environ.get("KUBEBUILDER_ASSETS")
    if given and all(os.access(os.path.join(given, b), os.X_OK) for b in ("kube-apiserver", "etcd")):
        return given
    out = subprocess.run(["bash", str(ROOT / "scripts" / "envtest-assets.sh")], check=True, capture_output=True,
                         text=True).stdout
    return out.strip().splitlines()[-1]


def istioctl():
    """istioctl from the assets directory, else from PATH."""
    path = os.path.join(assets_dir(), "istioctl")
    return path if os.access(path, os.X_OK) else shutil.which("istioctl") or path
