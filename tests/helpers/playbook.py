"""Run real ansible-playbook / ansible commands the way a user would.

The collection under test is found through ANSIBLE_COLLECTIONS_PATH: the
built-and-installed collection when MESHOPS_COLLECTIONS_PATH is set (CI and
`make test` install the built tarball there), else the source tree through
the symlink tests/conftest.py creates.
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def collections_path():
    return os.environ.get("MESHOPS_COLLECTIONS_PATH") or str(ROOT / "build" / "pycoll")


def ansible_env(kubeconfig=None, extra=None):
    """A clean environment: no user ansible.cfg, no K8S_AUTH_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K8S_AUTH_"))}
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "tests" / "helpers" / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": collections_path(),
            "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PATH": "{0}{1}{2}".format(BIN, os.pathsep, env.get("PATH", "")),
        }
    )
    if kubeconfig:
        env["K8S_AUTH_KUBECONFIG"] = str(kubeconfig)
    env.update(extra or {})
    return env


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    stats: dict = field(default_factory=dict)

    def changed(self, host="localhost"):
        return self.stats.get(host, {}).get("changed", 0)

    def failed(self, host="localhost"):
        return self.stats.get(host, {}).get("failures", 0)

    def task_results(self):
        """(task name, host, result) for every task result, in order."""
        data = json.loads(self.stdout)
        for play in data.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    yield task["task"]["name"], host, result


def run_playbook(playbook, inventory=None, extra_vars=None, kubeconfig=None, check=False, diff=False,
                 env=None, verbosity=0, json_output=True, args=(), timeout=600):
    """Run ansible-playbook; with ``json_output`` stdout is the json callback's document."""
    cmd = [str(BIN / "ansible-playbook"), str(playbook)]
    # Without an inventory: the controller itself, as the implicit localhost.
    cmd += ["-i", str(inventory)] if inventory else ["-i", "localhost,", "-c", "local"]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd += list(args)
    extra = dict(env or {})
    if json_output:
        extra.setdefault("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    proc = subprocess.run(cmd, env=ansible_env(kubeconfig, extra), capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), check=False)
    stats = {}
    if json_output:
        try:
            stats = json.loads(proc.stdout).get("stats", {})
        except ValueError:
            stats = {}
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, stats)
