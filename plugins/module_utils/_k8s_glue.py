# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The only place our modules talk to a cluster.

Authentication, configuration and discovery are kubernetes.core's own
(``get_api_client``), so our modules accept exactly the connection options
and K8S_AUTH_* environment of ``kubernetes.core.k8s`` and share its discovery
cache. Responses are read as plain JSON: building the dynamic client's
ResourceInstance wrappers for a 1,000-item LIST costs more than the request.

Every request has a timeout (``request_timeout``) and goes through the
retry policy of ``retry.py``; errors name the request's object and answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import json
import random
import time

from ansible.module_utils.basic import env_fallback
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.meshops.istio_egress.plugins.module_utils._api_errors import explain_api_error
from ansible_collections.meshops.istio_egress.plugins.module_utils._compare import matches
from ansible_collections.meshops.istio_egress.plugins.module_utils._retry import DEFAULT_TIMEOUT, NO_ANSWER, decide

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
except ImportError:  # reported by AnsibleK8SModule's requires("kubernetes")
    class DynamicApiError(Exception):
        pass

    ResourceNotFoundError = DynamicApiError

try:
    from urllib3.exceptions import HTTPError as TransportError
    from urllib3.exceptions import TimeoutError as TransportTimeout
except ImportError:  # urllib3 comes with kubernetes
    class TransportError(Exception):
        pass

    TransportTimeout = TransportError

# Istio serves these groups in v1 from 1.22 on and in v1beta1 before; the
# schemas of the kinds we write are the same in both.
_FALLBACK_VERSIONS = {
    "networking.istio.io/v1": ("networking.istio.io/v1", "networking.istio.io/v1beta1"),
    "security.istio.io/v1": ("security.istio.io/v1", "security.istio.io/v1beta1"),
}
TIMEOUT_ENV = "MESHOPS_K8S_REQUEST_TIMEOUT"


def auth_argspec():
    """kubernetes.core's connection options and our request timeout, for a
    module's argument_spec (documented by the k8s_request doc fragment)."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec["request_timeout"] = dict(type="float", default=DEFAULT_TIMEOUT, fallback=(env_fallback, [TIMEOUT_ENV]))
    return spec


def prune_scope_argspec():
    """The prune_scope option (documented by the prune_scope doc fragment)."""
    return dict(type="list", elements="dict", default=[],
                options=dict(api_version=dict(type="str", required=True), kind=dict(type="str", required=True), namespace=dict(type="str")))


class ApiError(Exception):
    """An API request failed; ``status`` is the HTTP code (0 when none).
    ``repeated``: an earlier attempt of the same request got no clear answer,
    so it may have been applied."""

    def __init__(self, message, status=0, reason="", repeated=False, detail=""):
        super(ApiError, self).__init__(message)
        self.status = status
        self.reason = reason
        self.repeated = repeated
        # The server's own words (its Status message), for api_errors.explain_api_error.
        self.detail = detail


class KindNotServed(ApiError):
    pass


def _rbac_verb(method, name):
    if method == "get":
        return "get" if name else "list"
    return {"post": "create", "put": "update"}.get(method, method)


def _server_message(exc):
    body = getattr(exc, "body", None)
    if body:
        try:
            parsed = json.loads(body)
            return parsed.get("message"), parsed.get("reason")
        except (ValueError, TypeError, AttributeError):
            return (body if isinstance(body, str) else None), None
    return None, None


def _api_error(exc, request, attempts, repeated):
    status = getattr(exc, "status", 0) or 0
    message, reason = _server_message(exc)
    reason = reason or getattr(exc, "reason", "") or ""
    detail = server_detail = message or str(exc).splitlines()[0]
    if status == 403:
        detail = "forbidden: the credentials lack {0} on {1} in {2}: {3} (docs/rbac.yaml lists the rights the collection needs)".format(
            request["verb"], request["resource"], request["scope"], detail)
    text = "{0} failed ({1} {2}): {3}".format(request["action"], status, reason, detail)
    if attempts > 1:
        text += " (after {0} attempts)".format(attempts)
    return ApiError(text, status, reason, repeated, server_detail)


def _transport_error(exc, request, attempts, timeout):
    if isinstance(exc, TransportTimeout) or isinstance(getattr(exc, "reason", None), TransportTimeout):
        what = "timeout: no answer within {0:g}s".format(timeout)
    else:
        what = "no answer ({0})".format(str(getattr(exc, "reason", None) or exc).splitlines()[0])
    return ApiError("{0} failed, {1} to {2} {3} (after {4} attempt{5}); is the API server reachable and healthy?".format(
        request["action"], what, request["method"].upper(), request["path"], attempts, "" if attempts == 1 else "s"),
        NO_ANSWER, "Timeout" if what.startswith("timeout") else "NoAnswer", attempts > 1)


def _ref(kind, namespace, name):
    return "{0} {1}/{2}".format(kind, namespace, name) if namespace else "{0} {1}".format(kind, name)


def _without_client_retries(client):
    """urllib3 repeats reads by itself (3 times, each with the full timeout):
    turn that off so the timeout and the retry policy are ours alone."""
    pool_manager = getattr(getattr(client, "rest_client", None), "pool_manager", None)
    if pool_manager is not None and hasattr(pool_manager, "connection_pool_kw"):
        pool_manager.connection_pool_kw["retries"] = False
        pool_manager.clear()


class Cluster(object):
    """A thin, JSON-in/JSON-out view of one cluster's API."""

    def __init__(self, params):
        """``params``: a module's validated parameters (the auth_argspec options)."""
        try:
            self._client = get_api_client(**dict((key, params.get(key)) for key in AUTH_ARG_SPEC)).client
        except (DynamicApiError, TransportError) as exc:
            # The client asks the server its version first: a wrong token, an unknown CA or an
            # unreachable server shows here, as one sentence.
            status = getattr(exc, "status", 0) or 0
            message, reason = _server_message(exc)
            error = ApiError(str(exc), status, reason or "", detail=message or str(exc).splitlines()[0])
            raise ApiError(explain_api_error(error, "reach the API server"), status, error.reason)
        self._timeout = params.get("request_timeout") or DEFAULT_TIMEOUT
        _without_client_retries(self._client.client)
        self._resources = {}

    def resource(self, api_version, kind):
        """The served resource for ``kind``, falling back to the older Istio
        API version only when discovery says the preferred one is not served."""
        key = (api_version, kind)
        if key not in self._resources:
            self._resources[key] = self._discover(api_version, kind)
        return self._resources[key]

    def _discover(self, api_version, kind):
        for candidate in _FALLBACK_VERSIONS.get(api_version, (api_version,)):
            try:
                # With the prefix, lazy discovery fetches only this group version, not every group.
                return self._client.resources.get(prefix="apis" if "/" in candidate else "api", api_version=candidate, kind=kind)
            except ResourceNotFoundError:
                continue
        raise KindNotServed(
            "The cluster does not serve {0} {1}{2}".format(kind, api_version, self._kind_hint(api_version, kind)),
            status=404,
            reason="NotFound",
        )

    def _kind_hint(self, api_version, kind):
        """Why: the kinds the group version does serve (a typo such as
        ``Destination`` for ``DestinationRule``), or that it serves none."""
        path = "/api/" + api_version if "/" not in api_version else "/apis/" + api_version
        try:
            listed = json.loads(self._client.request("get", path, serialize=False).data.decode("utf-8"))
        except (DynamicApiError, ValueError, AttributeError):
            listed = {}
        kinds = sorted(set(r.get("kind") for r in listed.get("resources") or [] if "/" not in r.get("name", "/")))
        if not kinds:
            return ": the cluster serves no {0} (is Istio, are its CRDs, installed?)".format(api_version)
        close = difflib.get_close_matches(kind, kinds, n=1, cutoff=0.5)
        return " (it serves {0}{1})".format(", ".join(kinds), "; did you mean {0}?".format(close[0]) if close else "")

    def served_version(self, api_version, kind):
        return self.resource(api_version, kind).group_version

    def _call(self, action, method, resource, name=None, namespace=None, body=None, **params):
        namespace = namespace if resource.namespaced else None
        request = {
            "action": action,
            "method": method,
            "path": resource.path(name=name, namespace=namespace),
            "verb": _rbac_verb(method, name),
            "resource": "{0}.{1}".format(resource.name, resource.group) if resource.group else resource.name,
            "scope": "namespace {0}".format(namespace) if namespace else ("all namespaces" if resource.namespaced else "the cluster scope"),
        }
        attempt, repeated = 0, False
        while True:
            attempt += 1
            try:
                # The client appends to query_params: each attempt gets its own list.
                fresh = dict(params, query_params=list(params.get("query_params") or []))
                response = self._client.request(method, request["path"], body=body, serialize=False,
                                                _request_timeout=self._timeout, **fresh)
                return json.loads(response.data.decode("utf-8")) if response.data else {}
            except DynamicApiError as exc:
                status, headers = exc.status or None, exc.headers
                error = _api_error(exc, request, attempt, repeated)
            except TransportError as exc:
                status, headers = NO_ANSWER, None
                error = _transport_error(exc, request, attempt, self._timeout)
            wait = decide(method, status, headers, attempt, jitter=random.random())
            if wait is None:
                raise error
            # A 5xx or no answer: the server may have done it anyway.
            repeated = repeated or status != 429
            time.sleep(wait)

    def list(self, resource, namespace=None, label_selector=None):
        """Items of one LIST request (all namespaces when ``namespace`` is None)."""
        params = {"label_selector": label_selector} if label_selector else {}
        action = "list {0} in {1}".format(resource.kind, namespace or "all namespaces")
        items = self._call(action, "get", resource, namespace=namespace, **params).get("items") or []
        for item in items:
            # LIST items carry neither; callers compare and write whole objects.
            item.setdefault("apiVersion", resource.group_version)
            item.setdefault("kind", resource.kind)
        return items

    def get(self, resource, name, namespace=None):
        """The object, or None when it does not exist."""
        try:
            return self._call("get " + _ref(resource.kind, namespace, name), "get", resource, name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, resource, body, dry_run=False):
        """POST. When an earlier attempt got no clear answer and a repeat
        finds the name taken, the object is read back: if it is what we sent,
        the first attempt did land and the create succeeded."""
        meta = body["metadata"]
        action = "create " + _ref(resource.kind, meta.get("namespace"), meta["name"])
        try:
            return self._call(action, "post", resource, None, meta.get("namespace"), body, **_write_params(dry_run))
        except ApiError as exc:
            if exc.status != 409 or not exc.repeated or dry_run:
                raise
            live = self.get(resource, meta["name"], meta.get("namespace"))
            if live is None or not matches(live, body):
                raise
            return live

    def replace(self, resource, body, dry_run=False):
        """PUT with the body's resourceVersion: 409 when the object moved on."""
        meta = body["metadata"]
        action = "update " + _ref(resource.kind, meta.get("namespace"), meta["name"])
        return self._call(action, "put", resource, meta["name"], meta.get("namespace"), body, **_write_params(dry_run))

    def merge_patch(self, resource, name, namespace, body, dry_run=False):
        """A JSON merge patch; with ``metadata.resourceVersion`` in ``body``, 409 when the object moved on."""
        params = dict(_write_params(dry_run), content_type="application/merge-patch+json")
        return self._call("patch " + _ref(resource.kind, namespace, name), "patch", resource, name, namespace, body, **params)

    def delete(self, resource, name, namespace=None, resource_version=None, dry_run=False):
        """DELETE, guarded by resourceVersion when given (409 if it moved on)."""
        body = None
        if resource_version or dry_run:
            body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        params = {}
        if dry_run:
            # The API server reads a DELETE's options from its body and ignores the query
            # whenever there is a body: dryRun goes in both, or check mode would really delete.
            body["dryRun"] = ["All"]
            params["dry_run"] = "All"
        try:
            return self._call("delete " + _ref(resource.kind, namespace, name), "delete", resource, name, namespace, body, **params)
        except ApiError as exc:
            if exc.status == 404:  # already gone: the state we wanted
                return None
            raise


def _write_params(dry_run):
    # Strict: a field the cluster's schema does not know is an error, never
    # silently pruned (a typo like `gateway:` for `gateways:` must fail).
    params = {"query_params": [("fieldValidation", "Strict")]}
    if dry_run:
        params["dry_run"] = "All"
    return params
