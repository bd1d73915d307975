"""Inventories for tests: each inventory host is one cluster, reached locally."""
import sys

import yaml


def write_inventory(directory, clusters, **group_vars):
    """``clusters``: {inventory hostname: host vars}; returns the file path."""
    hosts = {}
    for name, host_vars in clusters.items():
        hosts[name] = dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable}, **host_vars)
    path = directory / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": group_vars}}, sort_keys=False))
    return path
