"""The resource verbs: get, list, create, update, patch, delete, deletecollection.

Each write follows kube-apiserver's order of checks, because clients (and
tests) see which error wins: decode (400) -> namespace exists (404) ->
defaulting -> validation (422) -> storage preconditions (409).
"""
import base64
import copy
import json
import random
import uuid
from datetime import datetime, timezone

import yaml

from . import builtin_schema, errors, kinds, patch
from .errors import ApiError, FieldError, Literal
from .meta import validate_object_meta
from .selection import field_matcher, label_matcher

_BODY_TYPES = ("application/json", "application/yaml")
_PATCH_TYPES = {
    "application/json-patch+json": patch.json_patch,
    "application/merge-patch+json": patch.merge_patch,
    "application/strategic-merge-patch+json": patch.strategic_merge_patch,
    "application/apply-patch+yaml": None,  # server-side apply, see _apply
}
_SUBRESOURCE_VERBS = {"log": ("get",), "status": ("get", "update", "patch")}
_PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OMIT_EMPTY_META = ("labels", "annotations", "finalizers", "ownerReferences")
_GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class Request:
    """What the verbs need from an HTTP request."""

    def __init__(self, method, query, headers, body):
        self.method = method
        self.query = query  # name -> [values]
        self.headers = headers  # case-insensitive mapping
        self.body = body

    def param(self, name, default=None):
        return self.query.get(name, [default])[0]

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()

    @property
    def dry_run(self):
        return "dryRun" in self.query


class Response:
    def __init__(self, code, body, warnings=(), content_type="application/json", headers=None):
        self.code = code
        self.body = body
        self.warnings = list(warnings)
        self.content_type = content_type
        self.headers = headers or {}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(request, content_type=None):
    content_type = content_type or request.content_type
    try:
        return json.loads(request.body or b"null")
    except ValueError as error:
        if not content_type.endswith("yaml"):
            raise errors.bad_request("the request body could not be decoded: %s" % error) from None
    try:
        return yaml.load(request.body, Loader=_YAML_LOADER)  # JSON is YAML, but rarer YAML is slower
    except yaml.YAMLError as error:
        raise errors.bad_request("the request body could not be decoded: %s" % error) from None


def _content(resource, obj):
    """The part of an object whose change bumps metadata.generation."""
    skip = ("apiVersion", "kind", "metadata") + (("status",) if resource.status_subresource else ())
    return {k: v for k, v in obj.items() if k not in skip}


class Api:
    def __init__(self, registry, store, auto_create_namespaces=False):
        self.registry = registry
        self.store = store
        self.auto_create_namespaces = auto_create_namespaces
        self._addresses = {"service": 0, "pod": 0}
        self.create_hooks = []  # (plural, callback): test hooks, see TestAPIServer.on_create

    def handle(self, verb, request, route):
        handler = getattr(self, "_" + verb, None)
        allowed = _SUBRESOURCE_VERBS.get(route.subresource)
        if handler is None or (allowed is not None and verb not in allowed):
            raise errors.method_not_allowed()
        with self.store.lock:
            return handler(request, route)

    # --- reads ----------------------------------------------------------------------------------

    def _get(self, request, route):
        obj = self._existing(route)
        if route.subresource == "log":
            return self._log(request, route, obj)
        return Response(200, self._present(route.resource, obj))

    def _log(self, request, route, pod):
        container = request.param("container")
        names = [c.get("name") for c in pod["spec"].get("containers") or []]
        if container and container not in names:
            raise errors.bad_request("container %s is not valid for pod %s" % (container, route.name))
        text = self.store.pod_logs.get((route.namespace, route.name), "")
        tail = request.param("tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail):]) if int(tail) else ""
        return Response(200, text, content_type="text/plain")

    def _list(self, request, route):
        if request.param("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by this test API server")
        items = self._select(request, route)
        metadata = {"resourceVersion": self.store.revision}
        token = request.param("continue")
        if token:
            after = json.loads(base64.b64decode(token))
            items = [o for o in items if [o["metadata"].get("namespace", ""), o["metadata"]["name"]] > after]
        limit = int(request.param("limit") or 0)
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            metadata["continue"] = base64.b64encode(json.dumps([last.get("namespace", ""), last["name"]])
                                                    .encode()).decode()
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return Response(200, self._list_body(route.resource, items, metadata))

    def _select(self, request, route):
        labels = label_matcher(request.param("labelSelector"))
        fields = field_matcher(request.param("fieldSelector"), route.resource.field_selectors)
        return [o for o in self.store.list(route.resource.key, route.namespace)
                if (labels is None or labels(o["metadata"].get("labels") or {})) and (fields is None or fields(o))]

    def _list_body(self, resource, items, metadata):
        list_kind = resource.crd.list_kind if resource.is_custom else resource.kind + "List"
        return {"kind": list_kind, "apiVersion": resource.api_version, "metadata": metadata,
                "items": [self._present(resource, o, in_list=True) for o in items]}

    @staticmethod
    def _present(resource, obj, in_list=False):
        """The object as served at the requested version; typed (built-in)
        list items carry no apiVersion/kind, like the real server's."""
        if in_list and not resource.is_custom:
            return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        if obj.get("apiVersion") != resource.api_version:
            return dict(obj, apiVersion=resource.api_version)
        return obj

    def _existing(self, route):
        obj = self.store.get(route.resource.key, route.namespace, route.name)
        if obj is None:
            raise errors.not_found(route.resource.plural, route.resource.group, route.name)
        return obj

    # --- writes ---------------------------------------------------------------------------------

    def _create(self, request, route):
        if route.name:
            raise errors.method_not_allowed()
        self._check_options(request, "CreateOptions")
        obj, warnings = self._decode(request, route, _parse(request, self._body_type(request)))
        return self._store_new(request, route, obj, warnings)

    def _store_new(self, request, route, obj, warnings, applied=None):
        resource = route.resource
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            # The storage layer's plain error, which kube-apiserver answers as an unknown 500.
            raise ApiError(500, "", "resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_GENERATE_NAME_ALPHABET, k=5))
        self._require_namespace(request, route)
        for field in ("uid", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if resource.has_generation:
            meta["generation"] = 1
        if resource.status_subresource:
            obj.pop("status", None)  # status is written through /status only
        kinds.prepare(resource, obj, None, self._allocate_ip)
        self._validate(resource, obj, None)
        name = meta.get("name")
        if self.store.get(resource.key, route.namespace, name) is not None:
            raise errors.already_exists(resource.plural, resource.group, name)
        if request.dry_run:
            return Response(201, obj, warnings)
        if resource.kind == "CustomResourceDefinition":
            self.registry.register_crd(obj)
        meta["resourceVersion"] = self.store.next_revision()
        self.store.put(resource.key, route.namespace, name, obj)
        if applied:
            self.store.set_applied(resource.key, route.namespace, name, *applied)
        if resource.kind == "Namespace" and not resource.group:
            self.populate_namespace(name)
        self._run_create_hooks(resource, route.namespace, name)
        return Response(201, obj, warnings)

    def _run_create_hooks(self, resource, namespace, name):
        """Test hooks: what a controller or kubelet would do next to a new object."""
        for plural, callback in list(self.create_hooks):
            if plural != resource.plural:
                continue
            replacement = callback(copy.deepcopy(self.store.get(resource.key, namespace, name)))
            if isinstance(replacement, dict):
                replacement["metadata"]["resourceVersion"] = self.store.next_revision()
                self.store.put(resource.key, namespace, name, replacement)

    def _update(self, request, route):
        self._check_options(request, "UpdateOptions")
        obj, warnings = self._decode(request, route, _parse(request, self._body_type(request)))
        old = self._existing(route)
        new_version = obj["metadata"].get("resourceVersion")
        if not new_version and route.resource.is_custom:
            # Custom resources refuse unconditional updates (AllowUnconditionalUpdate is false).
            raise errors.invalid(obj["kind"], route.resource.group, route.name, [FieldError(
                "metadata.resourceVersion", "Invalid value", "must be specified for an update", Literal("0x0"))])
        return self._store_update(request, route, obj, old, warnings)

    def _patch(self, request, route):
        self._check_options(request, "PatchOptions")
        resource = route.resource
        content_type = request.content_type
        accepted = [t for t in _PATCH_TYPES if not (resource.is_custom and "strategic" in t)]
        if content_type not in accepted:
            raise errors.unsupported_media_type(accepted)
        if content_type == "application/apply-patch+yaml":
            return self._apply(request, route)
        old = self._existing(route)
        try:
            patched = _PATCH_TYPES[content_type](old, _parse(request, "application/json"))
        except patch.PatchError as error:
            raise ApiError(422, "Invalid", str(error)) from None
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        obj, warnings = self._decode(request, route, patched)
        return self._store_update(request, route, obj, old, warnings)

    def _apply(self, request, route):
        """Simplified server-side apply (see patch.apply_patch and the README)."""
        manager = request.param("fieldManager")
        if not manager:
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [FieldError(
                "fieldManager", "Required value", "is required for apply patch")])
        applied = _parse(request, "application/yaml")
        if not isinstance(applied, dict):
            raise errors.bad_request("the apply patch is not a YAML/JSON object")
        resource = route.resource
        decoded, unknown = self._prune(route, dict(applied, metadata=applied.get("metadata") or {}))
        if unknown:
            raise errors.bad_request("failed to create typed patch object (%s, Kind=%s): .%s: field not declared "
                                     "in schema" % (resource.api_version, resource.kind, unknown[0]))
        old = self.store.get(resource.key, route.namespace, route.name)
        if old is None:
            obj, warnings = self._decode(request, route, decoded)
            return self._store_new(request, route, obj, warnings, applied=(manager, decoded))
        previous = self.store.applied(resource.key, route.namespace, route.name, manager)
        merged = patch.apply_patch(old, previous, decoded)
        obj, warnings = self._decode(request, route, merged)
        return self._store_update(request, route, obj, old, warnings, applied=(manager, decoded))

    def _store_update(self, request, route, obj, old, warnings, applied=None):
        resource = route.resource
        meta = obj["metadata"]
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.conflict(resource.plural, resource.group, route.name)
        if route.subresource == "status":
            status = obj.get("status")
            obj = {k: v for k, v in old.items() if k != "status"}
            if status is not None:
                obj["status"] = status
            meta = obj["metadata"] = dict(old["metadata"])
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        meta.pop("managedFields", None)
        if route.subresource is None:
            if resource.status_subresource and "status" in old:
                obj["status"] = old["status"]
            elif resource.status_subresource:
                obj.pop("status", None)
            kinds.prepare(resource, obj, old, self._allocate_ip)
            # Compared after defaulting, so omitting a defaulted field is no change.
            if resource.has_generation and _content(resource, obj) != _content(resource, old):
                meta["generation"] = old["metadata"].get("generation", 0) + 1
                kinds.prepare(resource, obj, old, self._allocate_ip)  # status follows the generation
        self._validate(resource, obj, old)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if obj == old:
            # A no-op write keeps the resourceVersion, like the real storage layer.
            return Response(200, self._present(resource, old), warnings)
        if request.dry_run:
            return Response(200, self._present(resource, obj), warnings)
        if resource.kind == "CustomResourceDefinition":
            self.registry.register_crd(obj)
        meta["resourceVersion"] = self.store.next_revision()
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(resource, route.namespace, route.name, obj)
        else:
            self.store.put(resource.key, route.namespace, route.name, obj)
        if applied:
            self.store.set_applied(resource.key, route.namespace, route.name, *applied)
        return Response(200, self._present(resource, obj), warnings)

    def _delete(self, request, route):
        self._check_options(request, "DeleteOptions")
        resource = route.resource
        obj = self._existing(route)
        options = _parse(request) if request.body else {}
        self._check_preconditions(resource, route.name, obj, (options or {}).get("preconditions") or {})
        if resource.kind == "Namespace" and not resource.group and route.name in _PROTECTED_NAMESPACES:
            raise errors.forbidden("namespaces", "", route.name, "this namespace may not be deleted")
        deleted, held = self._delete_one(request, resource, obj)
        if held or resource.return_deleted:
            return Response(200, self._present(resource, deleted))
        meta = deleted["metadata"]
        details = {"name": meta["name"], "kind": resource.plural, "uid": meta.get("uid")}
        if resource.group:
            details["group"] = resource.group
        return Response(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": details})

    def _deletecollection(self, request, route):
        self._check_options(request, "DeleteOptions")
        deleted = [self._delete_one(request, route.resource, o)[0] for o in self._select(request, route)]
        return Response(200, self._list_body(route.resource, deleted, {"resourceVersion": self.store.revision}))

    def _delete_one(self, request, resource, obj):
        """(the object as deleted, whether finalizers hold it)."""
        meta = obj["metadata"]
        namespace, name = meta.get("namespace"), meta["name"]
        if meta.get("finalizers"):
            # Finalizers hold the object until an update removes them.
            if request.dry_run or meta.get("deletionTimestamp"):
                return obj, True
            obj = dict(obj, metadata=dict(meta, deletionTimestamp=now(), deletionGracePeriodSeconds=0,
                                          resourceVersion=self.store.next_revision()))
            self.store.put(resource.key, namespace, name, obj)
            return obj, True
        if not request.dry_run:
            self._remove(resource, namespace, name, obj)
        if resource.kind == "Namespace" and not resource.group:
            # Real namespaces linger in Terminating while their content goes.
            obj = dict(obj, metadata=dict(meta, deletionTimestamp=now()), status={"phase": "Terminating"})
        return obj, False

    def _remove(self, resource, namespace, name, obj):
        self.store.delete(resource.key, namespace, name)
        if resource.kind == "Namespace" and not resource.group:
            self.store.drop_namespace(name)
        elif resource.kind == "CustomResourceDefinition":
            entry = self.registry.unregister_crd(name)
            if entry is not None:
                self.store.drop_resource((entry.group, entry.plural))
        self.store.next_revision()

    # --- steps shared by writes -----------------------------------------------------------------

    @staticmethod
    def _body_type(request):
        content_type = request.content_type
        if content_type not in _BODY_TYPES:
            raise errors.unsupported_media_type(list(_BODY_TYPES))
        return content_type

    @staticmethod
    def _check_options(request, options_kind):
        dry_run = request.query.get("dryRun")
        if dry_run and dry_run != ["All"]:
            raise errors.invalid(options_kind, "meta.k8s.io", "", [FieldError(
                "dryRun", "Unsupported value", 'supported values: "All"', dry_run)])
        validation = request.param("fieldValidation", "Warn")
        if validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request('fieldValidation: Unsupported value: "%s": supported values: '
                                     '"Ignore", "Strict", "Warn"' % validation)

    def _decode(self, request, route, obj):
        """Type-meta checks, namespace/name from the URL, and unknown-field
        handling per ``fieldValidation``. Returns (object, warnings)."""
        resource = route.resource
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body is not a JSON/YAML object")
        obj = dict(obj)
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        if obj["apiVersion"] != resource.api_version:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version "
                                     "(%s)" % (obj["apiVersion"], resource.api_version))
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        if obj["kind"] != resource.kind:
            raise errors.invalid(obj["kind"], resource.group, meta.get("name", ""), [FieldError(
                "kind", "Invalid value", "must be " + resource.kind, obj["kind"])])
        obj, unknown = self._prune(route, obj)
        meta = obj.setdefault("metadata", {})
        for field in _OMIT_EMPTY_META:
            if meta.get(field) in ({}, []):
                del meta[field]  # omitempty fields of ObjectMeta
        if route.name and meta.get("name") and meta["name"] != route.name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (meta["name"], route.name))
        if route.name:
            meta["name"] = route.name
        if resource.namespaced:
            if meta.get("namespace") and meta["namespace"] != route.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            meta["namespace"] = route.namespace
        else:
            meta.pop("namespace", None)
        messages = ['unknown field "%s"' % path for path in unknown]
        validation = request.param("fieldValidation", "Warn")
        if messages and validation == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join(messages))
        return obj, messages if validation == "Warn" else []

    def _prune(self, route, obj):
        """(copy without unknown fields, unknown field paths); 400 on wrong JSON types."""
        resource = route.resource
        if not resource.is_custom:
            return builtin_schema.decode(resource.model, resource.kind, resource.version, obj)
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            try:
                builtin_schema.decode_model("V1ObjectMeta", meta, "metadata", [])
            except builtin_schema.DecodeError as error:
                raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: %s"
                                         % (resource.kind, resource.version, resource.kind, error)) from None
        return self.registry.crds.prune_object(obj)

    def _require_namespace(self, request, route):
        if not route.resource.namespaced:
            return
        namespaces = self.registry.lookup("", "v1", "namespaces")
        if self.store.get(namespaces.key, None, route.namespace) is not None:
            return
        if not self.auto_create_namespaces:
            raise errors.not_found("namespaces", "", route.namespace)
        if not request.dry_run:
            self.create_namespace(route.namespace)

    def _validate(self, resource, obj, old):
        field_errors = validate_object_meta(obj["metadata"], resource.name_rule)
        field_errors += kinds.validate(resource, obj, old)
        if resource.is_custom:
            field_errors += self.registry.crds.validate_pruned(obj, old)
        elif resource.kind == "CustomResourceDefinition" and not field_errors:
            field_errors += self.registry.crds.compile_errors(obj)
        if field_errors:
            raise errors.invalid(obj["kind"], resource.group, obj["metadata"].get("name", ""), field_errors)

    @staticmethod
    def _check_preconditions(resource, name, obj, preconditions):
        uid, version = preconditions.get("uid"), preconditions.get("resourceVersion")
        if uid and uid != obj["metadata"].get("uid"):
            raise errors.conflict(resource.plural, resource.group, name, "Precondition failed: UID in precondition: "
                                  "%s, UID in object meta: %s" % (uid, obj["metadata"].get("uid")))
        if version and version != obj["metadata"].get("resourceVersion"):
            raise errors.conflict(resource.plural, resource.group, name, "Precondition failed: ResourceVersion in "
                                  "precondition: %s, ResourceVersion in object meta: %s"
                                  % (version, obj["metadata"].get("resourceVersion")))

    def _allocate_ip(self, pod=False):
        kind = "pod" if pod else "service"
        self._addresses[kind] += 1
        number = self._addresses[kind]
        return ("10.244.%d.%d" if pod else "10.96.%d.%d") % (number // 250, number % 250 + 1)

    # --- server-internal writes (no request) ----------------------------------------------------

    def create_namespace(self, name, labels=None):
        """Create a namespace as the server itself (startup, auto-creation)."""
        meta = {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now()}
        if labels:
            meta["labels"] = dict(labels)
        obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
        kinds.prepare(self.registry.lookup("", "v1", "namespaces"), obj, None, self._allocate_ip)
        meta["resourceVersion"] = self.store.next_revision()
        self.store.put(("", "namespaces"), None, name, obj)
        self.populate_namespace(name)

    def populate_namespace(self, namespace):
        """What controllers add to every new namespace: the ``default``
        ServiceAccount and the ``kube-root-ca.crt`` ConfigMap."""
        for key, kind, name, extra in (
                (("", "serviceaccounts"), "ServiceAccount", "default", {}),
                (("", "configmaps"), "ConfigMap", "kube-root-ca.crt",
                 {"data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(test cluster CA)\n-----END CERTIFICATE-----\n"}})):
            meta = {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "creationTimestamp": now(),
                    "resourceVersion": self.store.next_revision()}
            self.store.put(key, namespace, name, dict({"apiVersion": "v1", "kind": kind, "metadata": meta}, **extra))
