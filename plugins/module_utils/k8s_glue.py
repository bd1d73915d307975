# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place our modules talk to a cluster.

Authentication, configuration and discovery are kubernetes.core's own
(``get_api_client``), so our modules accept exactly the connection options
and K8S_AUTH_* environment of ``kubernetes.core.k8s`` and share its discovery
cache. Responses are read as plain JSON: building the dynamic client's
ResourceInstance wrappers for a 1,000-item LIST costs more than the request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
except ImportError:  # reported by AnsibleK8SModule's requires("kubernetes")
    DynamicApiError = ResourceNotFoundError = Exception

# Istio serves these groups in v1 from 1.22 on and in v1beta1 before; the
# schemas of the kinds we write are the same in both.
_FALLBACK_VERSIONS = {
    "networking.istio.io/v1": ("networking.istio.io/v1", "networking.istio.io/v1beta1"),
    "security.istio.io/v1": ("security.istio.io/v1", "security.istio.io/v1beta1"),
}


def auth_argspec():
    """kubernetes.core's connection options, for a module's argument_spec."""
    return copy.deepcopy(AUTH_ARG_SPEC)


class ApiError(Exception):
    """An API request failed; ``status`` is the HTTP code (0 when none)."""

    def __init__(self, message, status=0, reason=""):
        super(ApiError, self).__init__(message)
        self.status = status
        self.reason = reason


class KindNotServed(ApiError):
    pass


def _api_error(exc, action):
    status = getattr(exc, "status", 0) or 0
    reason = getattr(exc, "reason", "") or ""
    message = None
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
            reason = json.loads(body).get("reason") or reason
        except (ValueError, TypeError, AttributeError):
            message = body if isinstance(body, str) else None
    detail = message or str(exc).splitlines()[0]
    return ApiError("{0} failed ({1} {2}): {3}".format(action, status, reason, detail), status, reason)


def _write_params(dry_run):
    # Strict: a field the cluster's schema does not know is an error, never
    # silently pruned (a typo like `gateway:` for `gateways:` must fail).
    params = {"query_params": [("fieldValidation", "Strict")]}
    if dry_run:
        params["dry_run"] = "All"
    return params


class Cluster(object):
    """A thin, JSON-in/JSON-out view of one cluster's API."""

    def __init__(self, module):
        self._client = get_api_client(module=module).client
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
                return self._client.resources.get(api_version=candidate, kind=kind)
            except ResourceNotFoundError:
                continue
        raise KindNotServed(
            "The cluster does not serve {0} {1}: is Istio (its CRDs) installed?".format(kind, api_version),
            status=404,
            reason="NotFound",
        )

    def served_version(self, api_version, kind):
        return self.resource(api_version, kind).group_version

    def _call(self, action, method, resource, name=None, namespace=None, body=None, **params):
        path = resource.path(name=name, namespace=namespace if resource.namespaced else None)
        try:
            response = self._client.request(method, path, body=body, serialize=False, **params)
        except DynamicApiError as exc:
            raise _api_error(exc, action)
        return json.loads(response.data.decode("utf-8")) if response.data else {}

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
            return self._call("get {0} {1}".format(resource.kind, name), "get", resource, name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, resource, body, dry_run=False):
        meta = body["metadata"]
        action = "create {0} {1}".format(resource.kind, meta["name"])
        return self._call(action, "post", resource, None, meta.get("namespace"), body, **_write_params(dry_run))

    def replace(self, resource, body, dry_run=False):
        """PUT with the body's resourceVersion: 409 when the object moved on."""
        meta = body["metadata"]
        action = "update {0} {1}".format(resource.kind, meta["name"])
        return self._call(action, "put", resource, meta["name"], meta.get("namespace"), body, **_write_params(dry_run))

    def delete(self, resource, name, namespace=None, resource_version=None, dry_run=False):
        """DELETE, guarded by resourceVersion when given (409 if it moved on)."""
        body = None
        if resource_version:
            body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": resource_version}}
        params = {"dry_run": "All"} if dry_run else {}
        try:
            return self._call("delete {0} {1}".format(resource.kind, name), "delete", resource, name, namespace, body, **params)
        except ApiError as exc:
            if exc.status == 404:  # already gone: the state we wanted
                return None
            raise
