"""Start / stop the project's Kubernetes test API server in the background, for molecule.

    python k8s_server_ctl.py start --workdir DIR [--project DIR] [-- SERVER ARGS...]
    python k8s_server_ctl.py stop --workdir DIR

``start`` runs ``python <project>/tests/k8s_server --port 0 --kubeconfig DIR/kubeconfig
SERVER ARGS...`` in its own session, its output in DIR/server.log, its process id
in DIR/server.pid, and returns once the server prints its URL (it is serving
then). ``stop`` sends SIGTERM to that process id and waits for it to exit. Both
print one JSON object (``changed``, ``pid``, ``url``, ``kubeconfig``) and are
idempotent: ``start`` leaves a running server alone, ``stop`` without one does
nothing.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _paths(workdir):
    return {name: os.path.join(workdir, name) for name in ("kubeconfig", "server.log", "server.pid")}


def _running_pid(paths):
    """The recorded process id if that process still runs and is our server, else None."""
    try:
        with open(paths["server.pid"]) as stream:
            pid = int(stream.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return None  # another user's process: the id was reused
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as stream:
            if paths["kubeconfig"].encode() not in stream.read().split(b"\0"):
                return None  # the id was reused by another process
    except OSError:
        pass  # no /proc (not Linux): trust the pid file
    return pid


def _url(log_file):
    try:
        with open(log_file) as stream:
            for line in stream:
                if line.startswith(("http://", "https://")):
                    return line.strip()
    except OSError:
        pass
    return None


def start(args):
    paths = _paths(args.workdir)
    pid = _running_pid(paths)
    if pid is not None:
        return {"changed": False, "pid": pid, "url": _url(paths["server.log"]), "kubeconfig": paths["kubeconfig"]}
    os.makedirs(args.workdir, exist_ok=True)
    for stale in (paths["kubeconfig"], paths["server.log"]):
        if os.path.exists(stale):
            os.remove(stale)
    command = [sys.executable, os.path.join(args.project, "tests", "k8s_server"), "--port", "0",
               "--kubeconfig", paths["kubeconfig"]] + args.server_args
    with open(paths["server.log"], "w") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    with open(paths["server.pid"], "w") as stream:
        stream.write(str(process.pid))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        url = _url(paths["server.log"])
        if url and os.path.exists(paths["kubeconfig"]):
            return {"changed": True, "pid": process.pid, "url": url, "kubeconfig": paths["kubeconfig"]}
        if process.poll() is not None:
            break
        time.sleep(0.1)
    if process.poll() is None:
        process.terminate()
        process.wait(10)
    os.remove(paths["server.pid"])
    with open(paths["server.log"]) as log:
        raise SystemExit("the test API server did not start (exit code %s):\n%s" % (process.returncode, log.read()))


def stop(args):
    paths = _paths(args.workdir)
    pid = _running_pid(paths)
    if pid is None:
        if os.path.exists(paths["server.pid"]):
            os.remove(paths["server.pid"])
        return {"changed": False, "pid": None}
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and _running_pid(paths) is not None:
        _reap(pid)
        time.sleep(0.1)
    if _running_pid(paths) is not None:
        os.kill(pid, signal.SIGKILL)
    os.remove(paths["server.pid"])
    return {"changed": True, "pid": pid}


def _reap(pid):
    """Collect the exit status when the server is our child (it is not when started by another run)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--workdir", required=True, help="where the kubeconfig, log and pid file live")
    parser.add_argument("--project", default=os.path.dirname(os.path.dirname(HERE)), help="the project checkout")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for start / stop")
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" is for the server.
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.server_args = argv[split + 1:]
    result = start(args) if args.action == "start" else stop(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
