"""pytest fixtures: ``k8s_server`` (Istio CRDs installed) and ``k8s_server_bare``.

Enabled by ``pytest_plugins = ["k8s_server.fixtures"]`` in tests/conftest.py.
"""
from pathlib import Path

import pytest

from .server import start_server

ROOT = Path(__file__).resolve().parents[2]
ISTIO_CRDS = ROOT.parent / "shared" / "istio" / "crd-all.gen.yaml"


@pytest.fixture
def k8s_server():
    """A fresh server with Istio's CRDs installed through the API and the
    ``istio-system`` namespace created (``default`` exists from the start);
    counters are reset before the test runs."""
    if not ISTIO_CRDS.is_file():
        pytest.skip("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    server = start_server(crd_file=str(ISTIO_CRDS))
    try:
        server.create_namespace("istio-system")
        server.create_namespace("default")
        server.reset_counts()
        yield server
    finally:
        server.stop()


@pytest.fixture
def k8s_server_bare():
    """A fresh server without CRDs; counters start at zero."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
