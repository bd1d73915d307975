"""TestAPIServer: lifecycle, kubeconfig, test hooks and assertions helpers."""
import copy
import functools
import hashlib
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
from http.server import ThreadingHTTPServer

import kubernetes
import yaml

from .api import Api
from .authz import Authorizer
from .faults import Fault, Faults
from .handler import Handler
from .metrics import RequestLog
from .resources import Registry
from .schema import read_crd_documents
from .store import Store

# Namespaces every cluster starts with.
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, app, port, tls_context=None):
        super().__init__(("127.0.0.1", port), Handler)
        self.app = app
        self.tls_context = tls_context
        self._connections = set()
        self._connections_lock = threading.Lock()

    def get_request(self):
        connection, address = super().get_request()
        if self.tls_context is not None:
            # The handshake runs in the connection's thread (Handler.setup),
            # not in this accept loop.
            connection = self.tls_context.wrap_socket(connection, server_side=True,
                                                      do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def handle_error(self, request, client_address):
        # Only connection-level errors get here (a client went away, or stop()
        # closed the socket); request errors are answered in Handler.
        pass

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        """End keep-alive connections so their threads exit."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _TLSHandler(Handler):
    def setup(self):
        self.request.do_handshake()
        super().setup()


class TestAPIServer:
    """A loopback Kubernetes API server; see README.md."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, tls=False, token=None, auto_create_namespaces=False):
        self.registry = Registry()
        self.store = Store()
        self.api = Api(self.registry, self.store, auto_create_namespaces=auto_create_namespaces)
        self.log = RequestLog()
        self.faults = Faults()
        self.token = token
        self.authorizer = None  # set by require_token(token, rules)
        self.tls = tls
        self.workdir = tempfile.mkdtemp(prefix="k8s-test-server-")
        self.kubeconfig = os.path.join(self.workdir, "kubeconfig")
        self.ca_file = None
        self._httpd = None
        self._thread = None
        self._client = None
        with self.store.lock:
            for name in INITIAL_NAMESPACES:
                self.api.create_namespace(name)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, port=0):
        tls_context = None
        if self.tls:
            from .tls import write_certificates  # cryptography is only needed for TLS
            paths = write_certificates(self.workdir)
            self.ca_file = paths["ca.crt"]
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_cert_chain(paths["server.crt"], paths["server.key"])
        self._httpd = _HTTPServer(self, port, tls_context)
        if self.tls:
            self._httpd.RequestHandlerClass = _TLSHandler
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="k8s-test-server", daemon=True)
        self._thread.start()
        _forget_client_discovery_cache(self.url)
        self.write_kubeconfig()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()
        _forget_client_discovery_cache(self.url)
        self._httpd = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def write_kubeconfig(self, path=None):
        """Write the kubeconfig (context ``test``, namespace ``default``) to
        ``path`` (default: ``self.kubeconfig``)."""
        cluster = {"server": self.url}
        if self.ca_file:
            cluster["certificate-authority"] = self.ca_file
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": "test", "user": {"token": self.token} if self.token else {}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": "default"}}],
            "current-context": "test",
        }
        with open(path or self.kubeconfig, "w") as stream:
            yaml.safe_dump(config, stream)

    # --- configuration hooks --------------------------------------------------------------------

    def require_token(self, token, rules=None, user="system:serviceaccount:default:test"):
        """From now on answer 401 without ``Authorization: Bearer <token>``;
        the kubeconfig is rewritten to carry the token. With ``rules`` (RBAC
        PolicyRule dicts, see authz.py) the token may do only what they allow
        (403 otherwise), as ``user``; without, everything."""
        self.token = token
        self.authorizer = Authorizer(rules, user) if rules is not None else None
        self.write_kubeconfig()
        self._client = None

    def inject_fault(self, match=None, status=500, times=1, retry_after=None, delay=None, drop=False):
        """Make the next ``times`` requests matching ``match`` fail (see README)."""
        return self.faults.add(Fault(match, status, times, retry_after, delay, drop))

    def clear_faults(self):
        self.faults.clear()

    def set_pod_log(self, namespace, name, text):
        """Text served by GET .../pods/<name>/log."""
        with self.store.lock:
            self.store.pod_logs[(namespace, name)] = text

    def on_create(self, plural, callback):
        """After each successful (not dry-run) create of a ``plural`` object,
        call ``callback(obj)`` with a copy of the stored object, in the request's
        thread and under the store lock (so it may call ``set_pod_log``). A dict
        it returns replaces the stored object, with a new resourceVersion and no
        validation: what a controller or the kubelet would write next (e.g. a
        Pod's ``status.phase: Succeeded``). The create's answer is unchanged."""
        with self.store.lock:
            self.api.create_hooks.append((plural, callback))

    # --- counters -------------------------------------------------------------------------------

    def counts(self):
        return self.log.counts()

    def reset_counts(self):
        self.log.reset()

    @property
    def requests(self):
        """Every request as a dict: verb, method, path, group, version, plural,
        kind, namespace, name, subresource, dry_run, status."""
        return self.log.records

    # --- CEL coverage ---------------------------------------------------------------------------

    @property
    def cel_unsupported_rules(self):
        return self.registry.crds.unsupported_rules

    def cel_rule_coverage(self):
        return self.registry.crds.rule_coverage()

    # --- state ----------------------------------------------------------------------------------

    def objects(self, kind_plural=None, namespace=None):
        """Copies of stored objects (for assertions), optionally one resource
        (by plural, e.g. "virtualservices") and/or one namespace."""
        with self.store.lock:
            keys = [k for k in self.store.keys() if kind_plural in (None, k[1])]
            return [copy.deepcopy(o) for key in sorted(keys) for o in self.store.list(key, namespace)]

    def save_state(self, path):
        with self.store.lock:
            state = self.store.dump()
        with open(path, "w") as stream:
            json.dump(state, stream)

    def load_state(self, path):
        """Restore objects saved by save_state (CRDs first, so their kinds exist)."""
        with open(path) as stream:
            state = json.load(stream)
        with self.store.lock:
            crds = [o for o in state["objects"] if o["kind"] == "CustomResourceDefinition"]
            for crd in crds:
                self.registry.register_crd(crd)
            for obj in crds + [o for o in state["objects"] if o not in crds]:
                group = obj["apiVersion"].rpartition("/")[0]
                resource = next(r for r in self.registry.by_kind(group, obj["kind"]))
                meta = obj["metadata"]
                self.store.put(resource.key, meta.get("namespace"), meta["name"], obj)
            self.store.restore_revision(state["revision"])

    # --- helpers going through the real API ------------------------------------------------------

    def client(self):
        """A kubernetes.client.ApiClient configured from this server's kubeconfig."""
        if self._client is None:
            self._client = kubernetes.config.new_client_from_config(config_file=self.kubeconfig)
        return self._client

    def request(self, method, path, body=None, content_type="application/json"):
        """One call through the kubernetes client; returns the decoded JSON
        answer, raises kubernetes.client.ApiException on errors."""
        api = self.client()
        method_, url, headers, body_, post = api.param_serialize(
            method, path, header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body, auth_settings=["BearerToken"])
        response = api.call_api(method_, url, headers, body_, post)
        response.read()
        if not 200 <= response.status <= 299:
            api.response_deserialize(response, {})  # raises the client's ApiException
        return json.loads(response.data)

    def install_crds(self, path):
        """POST every CRD of a multi-document YAML file; returns their names."""
        names = []
        for crd in _crd_documents(os.path.abspath(path), os.path.getmtime(path)):
            created = self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            names.append(created["metadata"]["name"])
        return names

    def create_namespace(self, name, labels=None):
        """Create a namespace through the API; an existing one is left alone."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        if labels:
            body["metadata"]["labels"] = labels
        try:
            return self.request("POST", "/api/v1/namespaces", body)
        except kubernetes.client.ApiException as error:
            if error.status != 409:
                raise
            return self.request("GET", "/api/v1/namespaces/" + name)


@functools.lru_cache(maxsize=8)
def _crd_documents(path, mtime):
    """Parsed CRD bundle, once per file version (the Istio bundle takes ~0.2 s)."""
    return read_crd_documents(path)


def _forget_client_discovery_cache(url):
    """Delete the discovery cache files the python client and kubernetes.core
    keep per server URL in the temp dir: ports get reused, and a stale cache
    from an earlier server on the same port would describe the wrong CRDs."""
    ids = {url}
    for user in (_login(), str(os.getuid()), os.environ.get("USERNAME")):
        if user:
            ids.add("%s-%s" % (url, user))
    names = {"osrcp-%s.json" % hashlib.md5(url.encode()).hexdigest()}
    names |= {"k8srcp-%s.json" % hashlib.sha256(i.encode()).hexdigest() for i in ids}
    for name in names:
        try:
            os.remove(os.path.join(tempfile.gettempdir(), name))
        except OSError:
            pass


def _login():
    try:
        return os.getlogin()
    except OSError:
        return None


def start_server(crd_file=None, tls=False, token=None, port=0, auto_create_namespaces=False):
    """Start a server on 127.0.0.1 in a background thread; with ``crd_file``
    its CRDs are installed through the API first."""
    server = TestAPIServer(tls=tls, token=token, auto_create_namespaces=auto_create_namespaces).start(port)
    if crd_file:
        server.install_crds(crd_file)
    return server
