"""Start a control plane by hand, for debugging: ``python -m control_plane`` (from tests/).

Prints the kubeconfigs and waits until Ctrl-C; ``--no-crds`` skips Istio's CRDs.
"""
import argparse
import signal
import sys

from .assets import ISTIO_CRDS, assets_dir
from .plane import ControlPlane


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m control_plane", description=__doc__)
    parser.add_argument("--no-crds", action="store_true", help="do not install Istio's CRDs")
    args = parser.parse_args(argv)
    plane = ControlPlane(assets_dir(), crd_file=None if args.no_crds else str(ISTIO_CRDS))
    with plane:
        print("kube-apiserver   %s (started in %.1f s)" % (plane.url, plane.started_in))
        print("kubeconfig       %s   (user meshops-test, counted)" % plane.kubeconfig)
        print("through proxy    %s" % plane.proxied_kubeconfig)
        print("admin            %s" % plane.admin_kubeconfig)
        print("audit log        %s" % plane.audit.path)
        print("Ctrl-C stops it.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
