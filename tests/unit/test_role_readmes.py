"""Each role's README lists its variables exactly as meta/argument_specs.yml declares them."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import role_readmes  # noqa: E402


def test_every_role_readme_table_is_generated_from_its_argument_spec():
    for role_dir in sorted(p.parent.parent for p in (ROOT / "roles").glob("*/meta/argument_specs.yml")):
        current, wanted = role_readmes.rendered(role_dir)
        assert current == wanted, "%s/README.md is out of date: run python scripts/role_readmes.py" % role_dir


def test_the_table_follows_the_spec():
    spec = {"argument_specs": {"main": {"options": {
        "x_mode": {"type": "str", "default": "a", "choices": ["a", "b"], "description": ["Use O(x_other=1) or V(b).", "More | text."]},
        "x_list": {"type": "list", "elements": "dict", "default": [], "description": "C(x) items."},
        "x_flag": {"type": "bool", "default": False, "description": "Flag."},
        "x_free": {"type": "raw", "description": "No default."},
    }}}}
    assert role_readmes.table(spec).splitlines()[2:] == [
        "| `x_mode` | str | `a` | `a`, `b` | Use `x_other=1` or `b`. More \\| text. |",
        "| `x_list` | list[dict] | `[]` |  | `x` items. |",
        "| `x_flag` | bool | `false` |  | Flag. |",
        "| `x_free` | raw |  |  | No default. |",
    ]
