"""execution-environment.yml makes a valid ansible-builder build context.

Building the image needs a container engine (podman or docker), which CI does
not have: these tests run ``ansible-builder create`` (schema validation and
the build context, what ``ansible-builder build`` hands to the engine) and the
dependency introspection the image build runs on the installed collections.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from helpers.playbook import collections_path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUILDER = shutil.which("ansible-builder", path=str(BIN)) or shutil.which("ansible-builder")

pytestmark = pytest.mark.skipif(BUILDER is None, reason="ansible-builder is not installed (requirements-test.txt)")


def read_lines(path):
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    target = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run([BUILDER, "create", "-f", str(ROOT / "execution-environment.yml"), "-c", str(target),
                           "--output-filename", "Containerfile"],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def test_create_writes_a_containerfile_from_the_definition(context):
    containerfile = (context / "Containerfile").read_text()
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert 'ARG PYCMD="%s"' % definition["dependencies"]["python_interpreter"]["python_path"] in containerfile
    assert definition["dependencies"]["ansible_core"]["package_pip"] in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile


def test_the_context_carries_our_requirements_unchanged(context):
    build = context / "_build"
    for name in ("requirements.txt", "bindep.txt", "requirements.yml"):
        assert (build / name).read_text() == (ROOT / name).read_text(), name
    for script in ("assemble", "install-from-bindep", "introspect.py", "check_galaxy", "check_ansible"):
        assert (build / "scripts" / script).is_file(), script


def test_requirements_yml_lists_this_collection_and_kubernetes_core():
    requirements = yaml.safe_load((ROOT / "requirements.yml").read_text())
    names = {item["name"] for item in requirements["collections"]}
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert names == {"%s.%s" % (galaxy["namespace"], galaxy["name"])} | set(galaxy["dependencies"])


def test_bindep_file_parses():
    bindep = shutil.which("bindep", path=str(BIN))
    if bindep is None:
        pytest.skip("bindep is not installed (it comes with ansible-builder)")
    proc = subprocess.run([bindep, "-f", str(ROOT / "bindep.txt"), "-l", "newline"],
                          capture_output=True, text=True, timeout=60, check=False)
    # 0: all present, 1: some missing; a syntax error is 2 with a traceback.
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_image_build_finds_the_collections_requirements_by_introspection(context, tmp_path):
    """What the builder stage runs once the collections are installed: our
    requirements.txt and bindep.txt are found in the installed collection."""
    installed = Path(collections_path())
    if not (installed / "ansible_collections" / "meshops" / "istio_egress").exists():
        pytest.skip("collection not installed at %s (scripts/bootstrap.sh)" % installed)
    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    proc = subprocess.run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                           str(installed), "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)],
                          capture_output=True, text=True, timeout=60, check=False, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip_lines = " ".join(read_lines(pip_out))
    for requirement in read_lines(ROOT / "requirements.txt"):
        # ansible-core brings PyYAML, so ansible-builder leaves it out.
        if Requirement(requirement).name.lower() != "pyyaml":
            assert requirement in pip_lines, requirement
    assert "# from collection meshops.istio_egress" in pip_out.read_text()
    for requirement in read_lines(ROOT / "bindep.txt"):
        assert requirement in bindep_out.read_text(), requirement
