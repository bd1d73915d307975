"""Test-session wiring.

Unit tests import the collection the way Ansible does, as
``ansible_collections.meshops.istio_egress``; a symlink under build/ gives the
source tree that name without installing it. ``tests/`` goes on sys.path so
the control plane package (``control_plane``) and the helpers import by name.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_COLLECTION_ROOT = ROOT / "build" / "pycoll"
_LINK = _COLLECTION_ROOT / "ansible_collections" / "meshops" / "istio_egress"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(ROOT, target_is_directory=True)
sys.path.insert(0, str(_COLLECTION_ROOT))
sys.path.insert(0, str(ROOT / "tests"))

pytest_plugins = ["control_plane.fixtures"]
