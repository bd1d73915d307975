"""The collection tarball passes galaxy-importer, the checks Galaxy and
Automation Hub run on upload.

galaxy-importer runs here without its container-based part (``ansible-test
sanity`` in a container image: CI runs ``ansible-test sanity`` itself, through
scripts/sanity.sh) and without its own ansible-lint pass (CI runs ansible-lint
on the repository with the production profile and no skip list, which is
stricter than the importer's). What remains: galaxy.yml / MANIFEST.json
metadata, the changelog, every module's documentation through ansible-doc,
role metadata and READMEs, the collection README rendered as Galaxy shows it.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.playbook import BIN

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("galaxy_importer") is None,
                                reason="galaxy-importer is not installed (requirements-test.txt)")

IMPORTER_CONFIG = """[galaxy-importer]
run_ansible_test = false
ansible_test_local_image = false
local_image_docker = false
run_ansible_lint = false
run_ansible_doc = true
check_changelog = true
run_flake8 = false
log_level_main = INFO
"""


def build_tarball(directory):
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(directory), str(ROOT)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [tarball] = Path(directory).glob("*.tar.gz")
    return tarball


def test_galaxy_importer_accepts_the_tarball(tmp_path):
    tarball = build_tarball(tmp_path / "dist")
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text(IMPORTER_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "GALAXY_IMPORTER_"))}
    env.update({"GALAXY_IMPORTER_CONFIG": str(config), "PATH": "%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")),
                "HOME": str(tmp_path)})
    proc = subprocess.run([sys.executable, "-m", "galaxy_importer.main", str(tarball)], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    log = proc.stdout + proc.stderr
    # A role without README.md, for one, fails here with "No role readme found".
    assert proc.returncode == 0, log
    assert "Importer processing completed successfully" in log, log
    problems = [line for line in log.splitlines() if line.startswith(("ERROR", "WARNING"))]
    assert problems == [], log

    result = json.loads((tmp_path / "importer_result.json").read_text())
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (result["metadata"]["namespace"], result["metadata"]["name"], result["metadata"]["version"]) == (
        galaxy["namespace"], galaxy["name"], galaxy["version"])
    found = {(item["content_type"], item["name"]) for item in result["contents"]}
    modules = {("module", path.stem) for path in (ROOT / "plugins" / "modules").glob("*.py")}
    roles = {("role", path.name) for path in (ROOT / "roles").iterdir() if (path / "tasks").is_dir()}
    assert modules | roles | {("playbook", "site.yml")} <= found
    # ansible-doc read every module's documentation (Galaxy's module pages).
    documented = {item["content_name"] for item in result["docs_blob"]["contents"]
                  if item["content_type"] == "module" and item["doc_strings"]}
    assert documented == {name for kind, name in modules}
