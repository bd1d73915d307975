"""Start / stop the project's test control plane (etcd + kube-apiserver) in the background, for molecule.

    python control_plane_ctl.py start --state-dir DIR [--project DIR] [--crd-file FILE]
    python control_plane_ctl.py stop --state-dir DIR

``start`` runs this script's ``run`` action in its own session (output in
DIR/control-plane.log) and returns once the control plane serves, Istio's CRDs
Established: ``run`` starts tests/control_plane's ControlPlane (binaries from
KUBEBUILDER_ASSETS, else scripts/envtest-assets.sh; its work dir in DIR), writes DIR/kubeconfig (user
meshops-test, a bearer token over TLS) and DIR/state.json, reports every
Deployment rolled out (no controllers or kubelets run: the stand-in for them),
and stops the control plane on SIGTERM. ``stop`` sends SIGTERM and waits until
``run``, etcd and kube-apiserver have exited. Both print one JSON object
(``changed``, ``pid``, ``url``, ``kubeconfig``) and are idempotent: ``start``
leaves a running control plane alone, ``stop`` without one does nothing.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _paths(state_dir):
    return {name: os.path.join(state_dir, name) for name in ("kubeconfig", "state.json", "control-plane.log")}


def _alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().split(") ", 1)[1][:1] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        return True  # no /proc (not Linux): trust kill(0)


def _ours(pid, state_dir):
    """Whether ``pid`` runs and is ours: ``run`` and the control plane's etcd and
    kube-apiserver name the state dir on their command lines (a process id may
    have been reused by another process since)."""
    if not _alive(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as stream:
            return state_dir.encode() in stream.read()
    except OSError:
        return True  # no /proc (not Linux): trust the state file


def _state(paths):
    """The recorded state if its ``run`` process still runs, else None."""
    try:
        with open(paths["state.json"]) as stream:
            state = json.load(stream)
    except (OSError, ValueError):
        return None
    return state if _ours(state["pid"], os.path.dirname(paths["state.json"])) else None


def _answer(changed, state):
    return {"changed": changed, "pid": state["pid"], "url": state["url"], "kubeconfig": state["kubeconfig"]}


def start(args):
    paths = _paths(args.state_dir)
    state = _state(paths)
    if state is not None:
        return _answer(False, state)
    os.makedirs(args.state_dir, exist_ok=True)
    for stale in (paths["kubeconfig"], paths["state.json"]):
        if os.path.exists(stale):
            os.remove(stale)
    command = [sys.executable, os.path.abspath(__file__), "run", "--state-dir", args.state_dir,
               "--project", args.project]
    if args.crd_file:
        command += ["--crd-file", args.crd_file]
    with open(paths["control-plane.log"], "w") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and process.poll() is None:
        state = _state(paths)
        if state is not None:
            return _answer(True, state)
        time.sleep(0.2)
    if process.poll() is None:
        process.terminate()  # run stops what it started on SIGTERM
        process.wait(30)
    with open(paths["control-plane.log"]) as log:
        raise SystemExit("the control plane did not start within %ss (exit code %s):\n%s"
                         % (args.timeout, process.returncode, log.read()[-6000:]))


def stop(args):
    paths = _paths(args.state_dir)
    state = _state(paths)
    if state is None:
        for stale in (paths["state.json"], paths["kubeconfig"]):
            if os.path.exists(stale):
                os.remove(stale)
        return {"changed": False, "pid": None}
    os.kill(state["pid"], signal.SIGTERM)
    pids = [state["pid"]] + state["children"]
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and any(_ours(pid, args.state_dir) for pid in pids):
        time.sleep(0.1)
    left = [pid for pid in pids if _ours(pid, args.state_dir)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    if os.path.exists(paths["state.json"]):
        os.remove(paths["state.json"])
    if left:
        raise SystemExit("killed what had not stopped within %ss: %s (see %s)" % (args.timeout, left,
                                                                                  paths["control-plane.log"]))
    return {"changed": True, "pid": state["pid"]}


def run(args):
    """In the foreground: start the control plane, record it, serve until SIGTERM or SIGINT."""
    sys.path.insert(0, os.path.join(args.project, "tests"))
    from control_plane import ControlPlane, assets_dir  # pylint: disable=import-outside-toplevel

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    paths = _paths(args.state_dir)
    plane = None
    try:
        for attempt in (1, 2):
            # The control plane's work dir (etcd data, certificates, audit log) inside
            # the state dir: whatever is left of it after stop is in plain sight there.
            tempfile.tempdir = args.state_dir
            try:
                plane = ControlPlane(assets_dir(), crd_file=args.crd_file)
            finally:
                tempfile.tempdir = None
            try:
                plane.start()
                break
            except (RuntimeError, TimeoutError):
                # A second attempt: a free port may have been taken by another process
                # (the other cluster's control plane) between choosing and binding it.
                plane.stop()
                plane = None
                if attempt == 2 or stopping.is_set():
                    raise
        if stopping.is_set():
            return 0
        plane.write_kubeconfig(paths["kubeconfig"], token=plane.test_token)
        plane.roll_out_deployments()
        state = {"pid": os.getpid(), "url": plane.url, "kubeconfig": paths["kubeconfig"],
                 "children": [plane.apiserver.popen.pid, plane.etcd.popen.pid], "audit_log": plane.audit.path}
        with open(paths["state.json"] + ".tmp", "w") as stream:
            json.dump(state, stream)
        os.replace(paths["state.json"] + ".tmp", paths["state.json"])
        print("control plane at %s, started in %.1f s" % (plane.url, plane.started_in), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        if plane is not None:
            plane.stop()
        for done in (paths["state.json"], paths["kubeconfig"]):
            if os.path.exists(done):
                os.remove(done)
        print("control plane stopped", flush=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop", "run"))
    parser.add_argument("--state-dir", required=True, help="where the kubeconfig, state and log live")
    parser.add_argument("--project", default=os.path.dirname(os.path.dirname(HERE)), help="the project checkout")
    parser.add_argument("--crd-file", help="CRDs to install (Istio's bundle) before the control plane counts as started")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for start / stop")
    args = parser.parse_args(argv)
    args.state_dir = os.path.abspath(args.state_dir)
    if args.action == "run":
        return run(args)
    print(json.dumps(start(args) if args.action == "start" else stop(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
