"""pytest fixtures: one control plane per test process (per xdist worker), wiped between tests.

Enabled by ``pytest_plugins = ["control_plane.fixtures"]`` in tests/conftest.py.
"""
import pytest

from .assets import ISTIO_CRDS, assets_dir
from .plane import ControlPlane


@pytest.fixture(scope="session")
def control_plane():
    """etcd + kube-apiserver with Istio's CRDs Established, started once per test process."""
    if not ISTIO_CRDS.is_file():
        pytest.skip("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    plane = ControlPlane(assets_dir(), crd_file=str(ISTIO_CRDS))
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def apiserver(control_plane):
    """The control plane for one test: namespace ``istio-system`` created, counters reset;
    afterwards, whatever the test left is deleted (``ControlPlane.wipe``)."""
    try:
        control_plane.create_namespace("istio-system")
        control_plane.reset_counts()
        yield control_plane
    finally:
        control_plane.wipe()
