"""The changelog follows antsibull-changelog's rules (what Galaxy and the
Ansible community package expect of a collection).

``antsibull-changelog lint`` checks the fragments under changelogs/fragments,
``lint-changelog-yaml`` the release history, and regenerating CHANGELOG.rst
from changelogs/changelog.yaml must reproduce the committed file (nobody
edited it by hand, nobody forgot to regenerate it).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHANGELOG = shutil.which("antsibull-changelog", path=str(BIN)) or shutil.which("antsibull-changelog")

pytestmark = pytest.mark.skipif(CHANGELOG is None, reason="antsibull-changelog is not installed (requirements-test.txt)")


def run(args, cwd):
    proc = subprocess.run([CHANGELOG] + args, cwd=str(cwd), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, "antsibull-changelog %s:\n%s%s" % (" ".join(args), proc.stdout, proc.stderr)
    return proc.stdout


def test_fragments_pass_lint():
    assert run(["lint"], ROOT).strip() == ""


def test_changelog_yaml_passes_lint():
    assert run(["lint-changelog-yaml", "changelogs/changelog.yaml"], ROOT).strip() == ""


def test_the_galaxy_version_is_a_release_of_the_changelog():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
    assert galaxy["version"] in changes["releases"]


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    for name in ("galaxy.yml", "CHANGELOG.rst"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "changelogs", tmp_path / "changelogs", ignore=shutil.ignore_patterns(".plugin-cache.yaml"))
    run(["generate"], tmp_path)
    assert (tmp_path / "CHANGELOG.rst").read_text() == (ROOT / "CHANGELOG.rst").read_text()
