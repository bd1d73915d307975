"""Command line: run a server until SIGTERM (for molecule and benchmarks).

    python tests/k8s_server --port 0 --kubeconfig PATH --crds PATH [--tls] [--token T] [--state-file PATH]

Prints the server URL on stdout once it accepts requests. With
``--state-file`` the objects are loaded from that file at start (when it
exists) and saved to it at exit, so a server can be restarted between
molecule stages. Counters are served at ``GET /_test/counts`` and reset by
``POST /_test/reset``.
"""
import argparse
import os
import signal
import sys
import threading

from .server import TestAPIServer


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="k8s_server", description="Kubernetes API server for tests")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    parser.add_argument("--crds", help="multi-document YAML of CRDs to install at start")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument("--token", help="require this bearer token")
    parser.add_argument("--state-file", help="load objects from / save objects to this JSON file")
    parser.add_argument("--auto-create-namespaces", action="store_true",
                        help="create missing namespaces instead of answering 404")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    server = TestAPIServer(tls=args.tls, token=args.token, auto_create_namespaces=args.auto_create_namespaces)
    restoring = args.state_file and os.path.exists(args.state_file)
    if restoring:
        server.load_state(args.state_file)
    server.start(args.port)
    if args.crds and not restoring:
        server.install_crds(args.crds)
    server.write_kubeconfig(os.path.abspath(args.kubeconfig))
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    print(server.url, flush=True)
    stopped.wait()
    if args.state_file:
        server.save_state(args.state_file)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
