"""A role's own variables, read from its vars/main.yml: what the role layer tells module_utils."""
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"


def role_var(role, name):
    return yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())[name]
