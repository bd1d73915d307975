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
    plane = _start()
    try:
        yield plane
    finally:
        plane.stop()


def _start(attempts=2):
    """A started control plane; a second attempt when the first fails (a free port
    taken by another process between choosing it and binding it)."""
    for attempt in range(attempts):
        plane = ControlPlane(assets_dir(), crd_file=str(ISTIO_CRDS))
        try:
            return plane.start()
        except (RuntimeError, TimeoutError):
            plane.stop()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


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
