# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Render mode: one YAML file per object in a directory, for review or GitOps.

A file we write starts with MARKER, so a rerun removes exactly the files of
objects no longer declared and never a file someone else put there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    import yaml
except ImportError:  # reported by the module
    yaml = None

MARKER = "# Rendered by meshops.istio_egress; changes are overwritten on the next run.\n"
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def file_name(obj):
    metadata = obj.get("metadata") or {}
    parts = [metadata.get("namespace") or "cluster", obj.get("kind", "object").lower(), metadata.get("name", "unnamed")]
    return _UNSAFE.sub("-", "_".join(parts).lower()) + ".yaml"


def manifest_text(obj):
    return MARKER + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


def plan_files(objects, existing):
    """``existing``: {file name: text} of our files now in the directory.
    Returns (writes {name: text}, removals [name], unchanged count)."""
    wanted = {}
    for obj in objects:
        name = file_name(obj)
        if name in wanted:
            raise ValueError("two objects map to the file {0}".format(name))
        wanted[name] = manifest_text(obj)
    writes = dict((name, text) for name, text in wanted.items() if existing.get(name) != text)
    removals = sorted(name for name in existing if name not in wanted)
    return writes, removals, len(wanted) - len(writes)


def read_ours(path):
    ours = {}
    if not os.path.isdir(path):
        return ours
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if not name.endswith(".yaml") or not os.path.isfile(full):
            continue
        with open(full) as handle:
            text = handle.read()
        if text.startswith(MARKER):
            ours[name] = text
    return ours


def sync_directory(path, objects, prune=True, check_mode=False):
    existing = read_ours(path)
    writes, removals, unchanged = plan_files(objects, existing)
    if not prune:
        removals = []
    diffs = [{"before": existing.get(name, ""), "after": text, "before_header": name, "after_header": name} for name, text in sorted(writes.items())]
    diffs += [{"before": existing[name], "after": "", "before_header": name, "after_header": name} for name in removals]
    if not check_mode:
        if writes and not os.path.isdir(path):
            os.makedirs(path)
        for name, text in writes.items():
            with open(os.path.join(path, name), "w") as handle:
                handle.write(text)
        for name in removals:
            os.remove(os.path.join(path, name))
    return {
        "changed": bool(writes or removals),
        "path": path,
        "written": sorted(writes),
        "removed": removals,
        "unchanged": unchanged,
        "diff": diffs,
    }
