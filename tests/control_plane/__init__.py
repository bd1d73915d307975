"""A real Kubernetes control plane for the tests (see README.md)."""
from .plane import ADMIN, TEST_USER, ControlPlane
from .assets import assets_dir, ISTIO_CRDS

__all__ = ["ADMIN", "TEST_USER", "ControlPlane", "assets_dir", "ISTIO_CRDS"]
