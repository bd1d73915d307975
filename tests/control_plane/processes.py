"""etcd and kube-apiserver as child processes on loopback."""
import os
import signal
import socket
import subprocess
import time


def free_ports(count):
    """``count`` distinct free loopback ports (all held open while choosing)."""
    sockets = [socket.socket() for unused in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Process:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name, argv, workdir):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.log_path, "wb") as log:
            # Its own process group: a Ctrl-C in the terminal reaches the test
            # runner, which stops this cleanly, not the child first.
            self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=30):
        with open(self.log_path, errors="replace") as stream:
            return "".join(stream.readlines()[-lines:])

    def stop(self, timeout=10):
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def etcd(assets, workdir, client, peer):
    """etcd without fsync (test data), client and peer URLs on the given loopback ports."""
    client_url, peer_url = "http://127.0.0.1:%d" % client, "http://127.0.0.1:%d" % peer
    argv = [os.path.join(assets, "etcd"), "--name=default", "--data-dir=" + os.path.join(workdir, "etcd"),
            "--listen-client-urls=" + client_url, "--advertise-client-urls=" + client_url,
            "--listen-peer-urls=" + peer_url, "--initial-advertise-peer-urls=" + peer_url,
            "--initial-cluster=default=" + peer_url, "--unsafe-no-fsync", "--log-level=warn"]
    return Process("etcd", argv, workdir), client_url


def kube_apiserver(assets, workdir, etcd_url, port, files):
    """The API server as controller-runtime's envtest runs it, plus real RBAC,
    token and certificate authentication and an audit log of every request."""
    argv = [
        os.path.join(assets, "kube-apiserver"),
        "--etcd-servers=" + etcd_url,
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=%d" % port,
        "--cert-dir=" + os.path.join(workdir, "apiserver-certs"),
        "--tls-cert-file=" + files["serving_crt"], "--tls-private-key-file=" + files["serving_key"],
        "--client-ca-file=" + files["ca"],
        "--token-auth-file=" + files["tokens"],
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-signing-key-file=" + files["sa_keys"][0],
        "--service-account-key-file=" + files["sa_keys"][1],
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        # No controller manager runs, so nothing would create the `default`
        # ServiceAccount a pod needs by default; envtest disables the check too.
        "--disable-admission-plugins=ServiceAccount",
        "--enable-priority-and-fairness=false",
        "--endpoint-reconciler-type=none",
        "--audit-policy-file=" + files["audit_policy"], "--audit-log-path=" + files["audit_log"],
        "--audit-log-format=json", "--audit-log-mode=blocking", "--audit-log-maxsize=0",
        # Pod logs are fetched from the node's kubelet: here, a stand-in.
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-certificate-authority=" + files["ca"],
        "--profiling=false",
    ]
    return Process("kube-apiserver", argv, workdir)


def wait_until(predicate, timeout, what, process=None, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError("%s exited while waiting for %s:\n%s" % (process.name, what, process.log_tail()))
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("timed out after %ss waiting for %s" % (timeout, what)
                       + (":\n" + process.log_tail() if process else ""))
