"""A real control plane for the tests: etcd + kube-apiserver, Istio's CRDs, an audit log.

What controller-runtime's envtest runs, from the binaries scripts/envtest-assets.sh
prints: no kubelet, no controllers. The code under test reaches it only
through a kubeconfig, exactly as it reaches a real cluster.

Identities (all authenticated by the API server itself, authorized by RBAC):
- the fixture's admin (token, ``system:masters``): set-up and assertions; not counted;
- ``meshops-test`` (token, ``system:masters``): the kubeconfig the code under test gets;
- any user minted with ``user_kubeconfig`` (client certificate), and
  ServiceAccounts with tokens from the TokenRequest API (``service_account_kubeconfig``).
Counters read the audit log and leave out the fixture's admin and the API server's own requests.
"""
import collections
import functools
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
import uuid

import kubernetes
import yaml

from . import audit, pki, processes
from .injector import SidecarInjectorStandin
from .proxy import Fault, FaultProxy
from .standins import KubeletStandin, rolled_out_status

ADMIN = "meshops-fixture-admin"
TEST_USER = "meshops-test"
# Requests not made by the code under test.
_NOT_COUNTED = (ADMIN, "system:apiserver")
# Resources the API server keeps itself, or that no test creates; never wiped.
Resource = collections.namedtuple("Resource", "group version namespaced verbs kind")
_UNWIPED = {("", "events"), ("events.k8s.io", "events"), ("coordination.k8s.io", "leases"),
            ("", "endpoints"), ("discovery.k8s.io", "endpointslices"), ("", "nodes")}


class ControlPlane:
    __test__ = False

    def __init__(self, assets, crd_file=None):
        self.assets = assets
        self.crd_file = crd_file
        self.workdir = tempfile.mkdtemp(prefix="meshops-control-plane-")
        self.etcd = self.apiserver = self.proxy = self.kubelet = None
        self.injector = None
        self._client = None
        self._resources = None
        self._baseline = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout=90):
        started = time.monotonic()
        self.ca = pki.CertificateAuthority(self.workdir)
        serving_crt, serving_key = self.ca.serving("kube-apiserver")
        self.admin_token, self.test_token = secrets.token_hex(16), secrets.token_hex(16)
        files = {"ca": self.ca.ca_file, "serving_crt": serving_crt, "serving_key": serving_key,
                 "sa_keys": pki.write_signing_key(self.workdir),
                 "tokens": self._write("tokens.csv", '%s,%s,%s,"system:masters"\n%s,%s,%s,"system:masters"\n' % (
                     self.admin_token, ADMIN, ADMIN, self.test_token, TEST_USER, TEST_USER)),
                 "audit_policy": self._write("audit-policy.yaml", audit.POLICY),
                 "audit_log": os.path.join(self.workdir, "audit.log")}
        self.audit = audit.AuditLog(files["audit_log"])
        etcd_client, etcd_peer, self.port = processes.free_ports(3)
        self.etcd, etcd_url = processes.etcd(self.assets, self.workdir, etcd_client, etcd_peer)
        self.apiserver = processes.kube_apiserver(self.assets, self.workdir, etcd_url, self.port, files)
        self.url = "https://127.0.0.1:%d" % self.port
        self.ca_file = self.ca.ca_file
        self.admin_kubeconfig = self.write_kubeconfig(os.path.join(self.workdir, "admin.kubeconfig"), token=self.admin_token)
        self.kubeconfig = self.write_kubeconfig(os.path.join(self.workdir, "kubeconfig"), token=self.test_token)
        processes.wait_until(self._ready, timeout, "kube-apiserver /readyz", self.apiserver, interval=0.2)
        processes.wait_until(lambda: self._exists("/api/v1/namespaces/default"), 30, "namespace default",
                             self.apiserver)
        if self.crd_file:
            self.install_crds(self.crd_file)
        self.kubelet = KubeletStandin(self)
        self.proxy = FaultProxy(self.port, self.ca_file, *self.ca.serving("api-proxy"))
        self.proxy_url = "https://127.0.0.1:%d" % self.proxy.port
        self.proxied_kubeconfig = self.write_kubeconfig(os.path.join(self.workdir, "proxied.kubeconfig"),
                                                        token=self.test_token, server=self.proxy_url)
        self._baseline = self._inventory()
        self.started_in = time.monotonic() - started
        self.reset_counts()
        return self

    def stop(self):
        for part in (self.proxy, self.kubelet, self.injector):
            if part is not None:
                part.stop()
        for process in (self.apiserver, self.etcd):
            if process is not None:
                process.stop()
        if self._client is not None:
            self._client.close()
        if self.url:
            forget_discovery_cache(self.url)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as stream:
            stream.write(text)
        return path

    def _ready(self):
        try:
            return self.request("GET", "/readyz", raw=True) == "ok"
        except Exception:  # pylint: disable=broad-except
            return False

    # --- kubeconfigs ----------------------------------------------------------------------------

    def write_kubeconfig(self, path, token=None, cert=None, server=None):
        """A kubeconfig (context ``test``, namespace ``default``) for a token or a (crt, key) pair."""
        user = {"token": token} if token else {"client-certificate": cert[0], "client-key": cert[1]}
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "test", "cluster": {"server": server or self.url, "certificate-authority": self.ca_file}}],
            "users": [{"name": "test", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": "default"}}],
            "current-context": "test",
        }
        with open(path, "w") as stream:
            yaml.safe_dump(config, stream)
        os.chmod(path, 0o600)
        return path

    def user_kubeconfig(self, user, groups=("system:masters",)):
        """A kubeconfig authenticating as ``user`` (client certificate); its requests count."""
        return self.write_kubeconfig(os.path.join(self.workdir, "user-%s.kubeconfig" % uuid.uuid4().hex[:8]),
                                     cert=self.ca.client(user, groups))

    def service_account_token(self, namespace, name, seconds=3600):
        """A token for ServiceAccount ``namespace/name`` from the TokenRequest API."""
        answer = self.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (namespace, name),
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": seconds}})
        return answer["status"]["token"]

    # --- the API, as the fixture's admin ----------------------------------------------------------

    def client(self):
        if self._client is None:
            self._client = kubernetes.config.new_client_from_config(config_file=self.admin_kubeconfig)
        return self._client

    def request(self, method, path, body=None, content_type="application/json", raw=False):
        """One call as the fixture's admin; the decoded JSON answer (text with ``raw``);
        raises kubernetes.client.ApiException on an error status."""
        api = self.client()
        method_, url, headers, body_, post = api.param_serialize(
            method, path, header_params={"Content-Type": content_type, "Accept": "application/json, */*"},
            body=body, auth_settings=["BearerToken"])
        response = api.call_api(method_, url, headers, body_, post)
        response.read()
        if not 200 <= response.status <= 299:
            api.response_deserialize(response, {})  # raises the client's ApiException
        return response.data.decode() if raw else json.loads(response.data)

    def _exists(self, path):
        try:
            self.request("GET", path)
            return True
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return False
            raise

    def resources(self, refresh=False):
        """{plural: Resource(group, version, namespaced, verbs, kind)} from discovery (a group's preferred
        version where it serves the resource)."""
        if self._resources is None or refresh:
            found = {}
            groups = [("", "v1")]
            for group in self.request("GET", "/apis")["groups"]:  # the preferred version first
                versions = [v["version"] for v in group["versions"]]
                preferred = group["preferredVersion"]["version"]
                groups += [(group["name"], v) for v in [preferred] + [v for v in versions if v != preferred]]
            for group, version in groups:
                path = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
                for resource in self.request("GET", path)["resources"]:
                    if "/" not in resource["name"]:
                        found.setdefault(resource["name"], Resource(group, version, resource["namespaced"],
                                                                    resource["verbs"], resource["kind"]))
            self._resources = found
        return self._resources

    def path(self, plural, namespace=None, name=None):
        resource = self.resources()[plural]
        path = "/api/v1" if not resource.group else "/apis/%s/%s" % (resource.group, resource.version)
        if resource.namespaced and namespace:
            path += "/namespaces/" + namespace
        path += "/" + plural
        return path + "/" + name if name else path

    def objects(self, plural, namespace=None):
        """The live objects of one resource, in one namespace or all, sorted by namespace and name."""
        resource = self.resources()[plural]
        items = self.request("GET", self.path(plural, namespace))["items"]
        for item in items:  # a LIST leaves these out of its items
            item.setdefault("apiVersion", "%s/%s" % (resource.group, resource.version) if resource.group else resource.version)
            item.setdefault("kind", resource.kind)
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def get(self, plural, namespace, name):
        return self.request("GET", self.path(plural, namespace, name))

    def plural_of(self, api_version, kind):
        """The resource serving ``kind`` in ``api_version``'s group, from discovery, as a
        client finds it; None when no API serves that kind."""
        group = api_version.rpartition("/")[0]
        return next((p for p, r in self.resources().items() if r.group == group and r.kind == kind), None)

    def create(self, obj):
        """Create a manifest (a dict) through the API."""
        plural = self.plural_of(obj["apiVersion"], obj["kind"])
        return self.request("POST", self.path(plural, obj["metadata"].get("namespace")), obj)

    def dry_run_create(self, obj, plural=None):
        """The API server's whole judgement of a create of ``obj`` (strict decoding, defaulting,
        schema and CEL rules or built-in validation, admission), storing nothing: None when it
        accepts it, else its message. ``plural``: where to send it (default: where discovery
        says ``obj``'s kind is served)."""
        plural = plural or self.plural_of(obj["apiVersion"], obj["kind"])
        if plural is None:
            return 'no matches for kind "%s" in version "%s"' % (obj["kind"], obj["apiVersion"])
        base = ("/apis/" if "/" in obj["apiVersion"] else "/api/") + obj["apiVersion"]
        namespace = obj["metadata"].get("namespace")
        scope = "/namespaces/" + namespace if namespace and self.resources()[plural].namespaced else ""
        try:
            self.request("POST", "%s%s/%s?dryRun=All&fieldValidation=Strict" % (base, scope, plural), obj)
        except kubernetes.client.ApiException as error:
            try:
                return json.loads(error.body)["message"]
            except (TypeError, ValueError, KeyError):
                return "HTTP %s: %s" % (error.status, error.body)
        return None

    def create_namespace(self, name, labels=None):
        """Create a namespace; an existing one is left alone."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        try:
            return self.request("POST", "/api/v1/namespaces", body)
        except kubernetes.client.ApiException as error:
            if error.status != 409:
                raise
            return self.request("GET", "/api/v1/namespaces/" + name)

    def install_crds(self, path, timeout=60):
        """Create every CRD of a multi-document YAML file and wait until each is Established
        and served."""
        names = []
        for crd in crd_documents(os.path.abspath(path), os.path.getmtime(path)):
            try:
                names.append(self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
                             ["metadata"]["name"])
            except kubernetes.client.ApiException as error:
                if error.status != 409:
                    raise
                names.append(crd["metadata"]["name"])

        def established():
            for name in names:
                crd = self.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name)
                if not any(c["type"] == "Established" and c["status"] == "True"
                           for c in crd.get("status", {}).get("conditions", [])):
                    return False
            return True
        processes.wait_until(established, timeout, "CRDs Established", self.apiserver)
        plurals = {crd["spec"]["names"]["plural"] for crd in crd_documents(os.path.abspath(path), os.path.getmtime(path))}
        processes.wait_until(lambda: plurals <= set(self.resources(refresh=True)), timeout, "CRDs in discovery",
                             self.apiserver)
        return names

    # --- the request log --------------------------------------------------------------------------

    def _barrier(self):
        """Wait until every request answered before now is in the audit log."""
        name = "audit-barrier-" + uuid.uuid4().hex[:10]
        self._exists("/api/v1/namespaces/" + name)
        processes.wait_until(lambda: any(r["name"] == name for r in self.audit.records()), 10, "the audit log")

    @property
    def requests(self):
        """The requests of the code under test since the last reset (see audit.record)."""
        self._barrier()
        return [r for r in self.audit.records() if r["user"] not in _NOT_COUNTED]

    def requests_of(self, user):
        return [r for r in self.requests if r["user"] == user]

    @property
    def unauthenticated_requests(self):
        """The requests since the last reset that the API server refused at authentication (401,
        no valid credential); not among ``requests``, which are those of known users."""
        self._barrier()
        return self.audit.unauthenticated()

    def counts(self, user=None):
        return audit.counts(self.requests_of(user) if user else self.requests)

    def reset_counts(self):
        self._barrier()
        self.audit.mark()

    # --- faults and latency -------------------------------------------------------------------------

    def inject_fault(self, match=None, status=500, times=1, retry_after=None, delay=None, drop=False):
        """Make the next ``times`` requests through the proxy that match ``match`` fail; the
        code under test must use ``proxied_kubeconfig``."""
        return self.proxy.add(Fault(match, status, times, retry_after, delay, drop))

    def clear_faults(self):
        self.proxy.clear()

    def set_latency(self, seconds):
        """Add ``seconds`` to every request through the proxy (a remote cluster)."""
        self.proxy.latency = seconds

    # --- stand-ins for what runs on nodes -------------------------------------------------------------

    def set_pod_log(self, namespace, name, text):
        """The log the kubelet stand-in serves for a pod (bound to its node if it is not yet)."""
        self.kubelet.set_log(namespace, name, text)

    def on_create(self, plural, callback):
        """See KubeletStandin.on_create."""
        self.kubelet.on_create(plural, callback)

    def inject_sidecars(self):
        """Stand in for Istio's sidecar injector: register a mutating admission webhook (see
        injector.py) that adds istio-proxy to pods created in namespaces labelled
        istio-injection=enabled. The registration is wiped after the test like any object."""
        if self.injector is None:
            self.injector = SidecarInjectorStandin(self.ca)
        try:
            self.request("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                         self.injector.configuration())
        except kubernetes.client.ApiException as error:
            if error.status != 409:
                raise

    def roll_out_deployments(self):
        """No controllers run: from now on report every Deployment rolled out (see standins)."""
        self.kubelet.roll_out_deployments()

    def mark_rolled_out(self, namespace, name):
        """Report one Deployment rolled out now, through its status subresource."""
        deployment = self.get("deployments", namespace, name)
        deployment["status"] = rolled_out_status(deployment)
        self.request("PUT", self.path("deployments", namespace, name) + "/status", deployment)

    # --- between tests ---------------------------------------------------------------------------------

    def _inventory(self):
        """{(plural, namespace, name): resourceVersion} of what tests may create or change."""
        found = {}
        for plural, resource in self.resources(refresh=True).items():
            if (resource.group, plural) in _UNWIPED or "list" not in resource.verbs or "delete" not in resource.verbs:
                continue
            for item in self.request("GET", self.path(plural))["items"]:
                meta = item["metadata"]
                found[(plural, meta.get("namespace"), meta["name"])] = meta.get("resourceVersion")
        return found

    def wipe(self):
        """Back to the state after start: delete every object created since, restore the labels
        of the namespaces that existed then. No namespace controller runs, so a namespace's
        objects are deleted first and the namespace is then finalized by hand."""
        self.clear_faults()
        self.proxy.drain()
        self.kubelet.reset()
        current = self._inventory()
        extra = [key for key in current if key not in self._baseline]
        for plural, namespace, name in extra:
            if plural != "namespaces":
                self._delete(self.path(plural, namespace, name) + "?gracePeriodSeconds=0")
        for plural, namespace, name in extra:
            if plural == "namespaces":
                self._delete("/api/v1/namespaces/" + name)
                try:
                    ns = self.request("GET", "/api/v1/namespaces/" + name)
                    ns["spec"]["finalizers"] = []
                    self.request("PUT", "/api/v1/namespaces/%s/finalize" % name, ns)
                except kubernetes.client.ApiException as error:
                    if error.status != 404:
                        raise
        for key, version in self._baseline.items():
            if key[0] == "namespaces" and current.get(key, version) != version:
                ns = self.request("GET", "/api/v1/namespaces/" + key[2])
                ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": key[2]}
                ns["metadata"].pop("annotations", None)
                self._baseline[key] = self.request("PUT", "/api/v1/namespaces/" + key[2], ns)["metadata"]["resourceVersion"]
        self.reset_counts()

    def _delete(self, path):
        try:
            self.request("DELETE", path)
        except kubernetes.client.ApiException as error:
            if error.status != 404:
                raise


@functools.lru_cache(maxsize=8)
def crd_documents(path, mtime):  # pylint: disable=unused-argument
    """The CRDs of a YAML bundle, parsed once per file version."""
    with open(path) as stream:
        return [d for d in yaml.safe_load_all(stream) if d and d.get("kind") == "CustomResourceDefinition"]


def forget_discovery_cache(url):
    """Delete the discovery caches the python client and kubernetes.core keep per server URL
    in the temp dir: ports get reused, and a cache from an earlier control plane on the same
    port would describe the wrong API."""
    ids = {url}
    for user in (os.environ.get("USER"), str(os.getuid()), os.environ.get("USERNAME")):
        if user:
            ids.add("%s-%s" % (url, user))
    names = {"osrcp-%s.json" % hashlib.md5(url.encode()).hexdigest()}
    names |= {"k8srcp-%s.json" % hashlib.sha256(i.encode()).hexdigest() for i in ids}
    for name in names:
        try:
            os.remove(os.path.join(tempfile.gettempdir(), name))
        except OSError:
            pass
