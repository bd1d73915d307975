"""Structural-schema pruning and validation of custom resources.

Follows kube-apiserver's order for a CR write: prune unknown fields (and
nulls of non-nullable fields, then apply defaults), validate against the
CRD version's ``openAPIV3Schema``, and only when no *blocking* error was
found evaluate the ``x-kubernetes-validations`` CEL rules.

Usable without the server::

    index = load_crds("../shared/istio/crd-all.gen.yaml")
    errors = index.validate(virtual_service)            # [] when valid
    clean = index.prune(virtual_service)
"""
import base64
import binascii
import copy
import ipaddress
import json
import re
import threading

import yaml
from celpy import celtypes

from . import cel
from .errors import FieldError
from .meta import validate_object_meta

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
_INT_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1), "uint32": (0, 2 ** 32 - 1),
               "uint64": (0, 2 ** 64 - 1)}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
# ObjectMeta fields; anything else under metadata is pruned like on a cluster.
OBJECT_META_FIELDS = frozenset((
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
))
# Errors after which kube-apiserver skips CEL rules (see hasBlockingErr).
_BLOCKING = ("Unsupported value", "Required value", "Too long", "Too many")
_SKIPPED_RULES = FieldError(None, "Invalid value", "some validation rules were not checked because the object "
                            "was invalid; correct the existing errors to complete validation", "null")
_MISSING = object()


def json_type(value):
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


class TypeInvalid(FieldError):
    """A wrong JSON type; like k8s field.TypeInvalid it blocks CEL evaluation."""


def _string_format_ok(fmt, value):
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
            return True
        except (binascii.Error, ValueError):
            return False
    if fmt in ("date-time", "datetime"):
        return bool(_DATE_TIME.fullmatch(value))
    if fmt == "date":
        return bool(_DATE.fullmatch(value))
    if fmt in ("ipv4", "ipv6"):
        try:
            return ipaddress.ip_address(value).version == int(fmt[-1])
        except ValueError:
            return False
    if fmt == "cidr":
        try:
            ipaddress.ip_network(value, strict=False)
            return True
        except ValueError:
            return False
    if fmt == "uuid":
        return bool(_UUID.fullmatch(value))
    return True


class Node:
    """One compiled schema node."""

    def __init__(self, spec):
        self.type = spec.get("type")
        self.int_or_string = spec.get("x-kubernetes-int-or-string", False)
        self.preserve = spec.get("x-kubernetes-preserve-unknown-fields", False)
        self.embedded = spec.get("x-kubernetes-embedded-resource", False)
        self.nullable = spec.get("nullable", False)
        self.format = spec.get("format")
        self.properties = {k: Node(v) for k, v in spec.get("properties", {}).items()}
        additional = spec.get("additionalProperties")
        self.additional = Node(additional) if isinstance(additional, dict) else additional
        self.items = Node(spec["items"]) if isinstance(spec.get("items"), dict) else None
        self.required = spec.get("required", ())
        self.enum = spec.get("enum")
        self.minimum, self.maximum = spec.get("minimum"), spec.get("maximum")
        self.exclusive_minimum = spec.get("exclusiveMinimum", False)
        self.exclusive_maximum = spec.get("exclusiveMaximum", False)
        self.multiple_of = spec.get("multipleOf")
        self.min_length, self.max_length = spec.get("minLength"), spec.get("maxLength")
        self.pattern_text = spec.get("pattern")
        self.pattern = re.compile(self.pattern_text) if self.pattern_text else None
        self.min_items, self.max_items = spec.get("minItems"), spec.get("maxItems")
        self.unique_items = spec.get("uniqueItems", False)
        self.min_properties, self.max_properties = spec.get("minProperties"), spec.get("maxProperties")
        self.list_type = spec.get("x-kubernetes-list-type")
        self.list_map_keys = spec.get("x-kubernetes-list-map-keys", ())
        self.one_of = [Node(s) for s in spec.get("oneOf", ())]
        self.any_of = [Node(s) for s in spec.get("anyOf", ())]
        self.all_of = [Node(s) for s in spec.get("allOf", ())]
        self.not_ = Node(spec["not"]) if "not" in spec else None
        self.rules = [cel.Rule(r) for r in spec.get("x-kubernetes-validations", ())]
        self.default = spec.get("default", _MISSING)
        children = list(self.properties.values()) + [self.items, self.additional]
        self.has_rules = bool(self.rules) or any(isinstance(c, Node) and c.has_rules for c in children)

    def child(self, key):
        """Schema of an object member: a declared property or the map value schema."""
        node = self.properties.get(key)
        if node is None and isinstance(self.additional, Node):
            return self.additional
        return node

    def walk_rules(self, path=""):
        """Yield (path, Rule) for every rule in this subtree (for coverage reports)."""
        for rule in self.rules:
            yield path, rule
        for key, child in self.properties.items():
            yield from child.walk_rules("%s.%s" % (path, key) if path else key)
        if self.items is not None:
            yield from self.items.walk_rules(path + "[*]")
        if isinstance(self.additional, Node):
            yield from self.additional.walk_rules(path + "[*]")


# --- pruning ------------------------------------------------------------------------------------

def prune(node, value, path, unknown):
    """Copy of ``value`` without fields the schema does not know (their paths
    are appended to ``unknown``), without nulls of non-nullable members, and
    with defaults filled in."""
    if isinstance(value, list):
        if node.items is None:
            return copy.deepcopy(value)
        return [prune(node.items, item, "%s[%d]" % (path, i), unknown) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, member in value.items():
        member_path = "%s.%s" % (path, key) if path else key
        child = node.child(key)
        if node.embedded and key in ("apiVersion", "kind", "metadata"):
            result[key] = prune_metadata(member, member_path, unknown) if key == "metadata" else member
        elif child is not None:
            if member is None and not child.nullable:
                continue
            result[key] = prune(child, member, member_path, unknown)
        elif node.preserve or node.additional is True:
            result[key] = copy.deepcopy(member)
        else:
            unknown.append(member_path)
    for key, child in node.properties.items():
        if key not in result and child.default is not _MISSING:
            result[key] = copy.deepcopy(child.default)
    return result


def prune_metadata(meta, path, unknown):
    if not isinstance(meta, dict):
        return meta
    for key in meta:
        if key not in OBJECT_META_FIELDS:
            unknown.append("%s.%s" % (path, key))
    return {k: copy.deepcopy(v) for k, v in meta.items() if k in OBJECT_META_FIELDS}


# --- structural validation ----------------------------------------------------------------------

def validate(node, value, path, errors):
    if value is None:
        if not node.nullable and (node.type or node.int_or_string):
            message = "%s in body must be of type %s: \"null\"" % (path, node.type or "integer,string")
            errors.append(TypeInvalid(path, "Invalid value", message, "null"))
        return
    if node.int_or_string:
        if not (isinstance(value, str) or _TYPE_CHECKS["integer"](value)):
            kind = json_type(value)
            message = "%s in body must be of type integer,string: \"%s\"" % (path, kind)
            errors.append(TypeInvalid(path, "Invalid value", message, kind))
            return
    elif node.type and not _TYPE_CHECKS[node.type](value):
        kind = json_type(value)
        message = "%s in body must be of type %s: \"%s\"" % (path, node.type, kind)
        errors.append(TypeInvalid(path, "Invalid value", message, kind))
        return
    if node.enum is not None and value not in node.enum:
        errors.append(FieldError(path, "Unsupported value", "supported values: "
                                 + ", ".join(json.dumps(v) for v in node.enum), value))
    if isinstance(value, str):
        _validate_string(node, value, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(node, value, path, errors)
    elif isinstance(value, list):
        _validate_array(node, value, path, errors)
    elif isinstance(value, dict):
        _validate_object(node, value, path, errors)
    _validate_combinators(node, value, path, errors)


def _validate_string(node, value, path, errors):
    if node.max_length is not None and len(value) > node.max_length:
        errors.append(FieldError(path, "Too long", "may not be more than %d bytes" % node.max_length))
    if node.min_length is not None and len(value) < node.min_length:
        errors.append(FieldError(path, "Invalid value", "%s in body should be at least %d chars long"
                                 % (path, node.min_length), value))
    if node.pattern is not None and not node.pattern.search(value):
        errors.append(FieldError(path, "Invalid value", "%s in body should match '%s'" % (path, node.pattern_text),
                                 value))
    if node.format and not _string_format_ok(node.format, value):
        errors.append(FieldError(path, "Invalid value", "%s in body must be of type %s: %s"
                                 % (path, node.format, json.dumps(value)), value))


def _validate_number(node, value, path, errors):
    if node.maximum is not None:
        if value > node.maximum or (node.exclusive_maximum and value == node.maximum):
            errors.append(FieldError(path, "Invalid value", "%s in body should be less than %s%s"
                                     % (path, "" if node.exclusive_maximum else "or equal to ",
                                        _number(node.maximum)), value))
    if node.minimum is not None:
        if value < node.minimum or (node.exclusive_minimum and value == node.minimum):
            errors.append(FieldError(path, "Invalid value", "%s in body should be greater than %s%s"
                                     % (path, "" if node.exclusive_minimum else "or equal to ",
                                        _number(node.minimum)), value))
    if node.multiple_of and (value / node.multiple_of) % 1:
        errors.append(FieldError(path, "Invalid value", "%s in body should be a multiple of %s"
                                 % (path, _number(node.multiple_of)), value))
    bounds = _INT_RANGES.get(node.format)
    if bounds and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
        errors.append(FieldError(path, "Invalid value", "%s in body must be of type %s: \"%s\""
                                 % (path, node.format, value), value))


def _number(value):
    return str(int(value)) if float(value).is_integer() else str(value)


def _validate_array(node, value, path, errors):
    if node.max_items is not None and len(value) > node.max_items:
        errors.append(FieldError(path, "Too many", "must have at most %d items" % node.max_items, len(value)))
    if node.min_items is not None and len(value) < node.min_items:
        errors.append(FieldError(path, "Invalid value", "%s in body should have at least %d items"
                                 % (path, node.min_items), len(value)))
    if node.list_type in ("set", "map") or node.unique_items:
        seen = set()
        for i, item in enumerate(value):
            key = json.dumps([item.get(k) for k in node.list_map_keys] if node.list_type == "map"
                             and isinstance(item, dict) else item, sort_keys=True)
            if key in seen:
                errors.append(FieldError("%s[%d]" % (path, i), "Duplicate value", "", item))
            seen.add(key)
    if node.items is not None:
        for i, item in enumerate(value):
            validate(node.items, item, "%s[%d]" % (path, i), errors)


def _validate_object(node, value, path, errors):
    for key in node.required:
        if key not in value:
            errors.append(FieldError("%s.%s" % (path, key) if path else key, "Required value"))
    if node.max_properties is not None and len(value) > node.max_properties:
        errors.append(FieldError(path, "Too many", "must have at most %d items" % node.max_properties, len(value)))
    if node.min_properties is not None and len(value) < node.min_properties:
        errors.append(FieldError(path, "Invalid value", "%s in body should have at least %d properties"
                                 % (path, node.min_properties), len(value)))
    for key, member in value.items():
        child = node.child(key)
        if child is not None:
            validate(child, member, "%s.%s" % (path, key) if path else key, errors)


def _matches(node, value):
    errors = []
    validate(node, value, "", errors)
    return not errors


def _validate_combinators(node, value, path, errors):
    shown = json_type(value)
    if node.one_of:
        count = sum(_matches(s, value) for s in node.one_of)
        if count != 1:
            found = "Found none valid" if count == 0 else "Found %d valid alternatives" % count
            errors.append(FieldError(path, "Invalid value", "%s in body must validate one and only one schema "
                                     "(oneOf). %s" % (path, found), shown))
    if node.any_of and not any(_matches(s, value) for s in node.any_of):
        errors.append(FieldError(path, "Invalid value", "%s in body must validate at least one schema (anyOf)"
                                 % path, shown))
    for sub in node.all_of:
        validate(sub, value, path, errors)
    if node.not_ is not None and _matches(node.not_, value):
        errors.append(FieldError(path, "Invalid value", "%s in body must not validate the schema (not)" % path,
                                 shown))


# --- CEL rules ----------------------------------------------------------------------------------

def to_cel(node, value):
    """CEL value for ``value`` typed by its schema (``number`` is always a
    double, as in Kubernetes)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.DoubleType(value) if node is not None and node.type == "number" else celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, list):
        items = node.items if node is not None else None
        return celtypes.ListType([to_cel(items, v) for v in value])
    return celtypes.MapType({celtypes.StringType(k): to_cel(node.child(k) if node is not None else None, v)
                             for k, v in value.items()})


def validate_rules(node, value, old, path, errors, on_unsupported):
    """Evaluate every rule in the subtree; ``old`` is the correlated previous
    value (``_MISSING`` on create), needed by transition rules only."""
    if not node.has_rules or value is None:
        return
    if node.rules:
        def convert(v):
            return to_cel(node, v)
        for rule in node.rules:
            if rule.is_transition and old is _MISSING:
                continue
            outcome = rule.evaluate(value, old, convert)
            if outcome.unsupported:
                on_unsupported(path, rule, outcome.unsupported)
            elif not outcome.passed:
                errors.append(_rule_error(node, rule, path, outcome.error))
    if isinstance(value, dict):
        old_map = old if isinstance(old, dict) else {}
        for key, member in value.items():
            child = node.child(key)
            if child is None:
                continue
            if key not in node.properties:
                member_path = "%s[%s]" % (path, key)  # map entries, like field.Path.Key
            else:
                member_path = "%s.%s" % (path, key) if path else key
            validate_rules(child, member, old_map.get(key, _MISSING), member_path, errors, on_unsupported)
    elif isinstance(value, list) and node.items is not None:
        old_items = _correlate(node, old)
        for i, item in enumerate(value):
            old_item = old_items.get(_list_key(node, item), _MISSING) if old_items else _MISSING
            validate_rules(node.items, item, old_item, "%s[%d]" % (path, i), errors, on_unsupported)


def _list_key(node, item):
    if node.list_type == "map" and isinstance(item, dict):
        return json.dumps([item.get(k) for k in node.list_map_keys])
    return json.dumps(item, sort_keys=True)


def _correlate(node, old):
    """Old list items by key: only map and set lists correlate, as in k8s."""
    if node.list_type not in ("map", "set") or not isinstance(old, list):
        return None
    return {_list_key(node, item): item for item in old}


_ERROR_TYPES = {"FieldValueForbidden": "Forbidden", "FieldValueRequired": "Required value",
                "FieldValueDuplicate": "Duplicate value"}


def _rule_error(node, rule, path, detail):
    error_type = _ERROR_TYPES.get(rule.reason, "Invalid value")
    field_path = path + rule.field_path if rule.field_path else path
    shown = node.type or ("integer,string" if node.int_or_string else "object")
    return FieldError(field_path, error_type, detail, shown)


# --- CRDs ---------------------------------------------------------------------------------------

class VersionSchema:
    """The compiled schema of one served version of one CRD."""

    def __init__(self, kind, version, spec):
        self.kind, self.version = kind, version
        self.root = Node(spec or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})

    def prune(self, obj):
        """(pruned copy, unknown field paths)."""
        unknown = []
        result = {k: obj[k] for k in ("apiVersion", "kind") if k in obj}
        if "metadata" in obj:
            result["metadata"] = prune_metadata(obj["metadata"], "metadata", unknown)
        result.update(prune(self.root, _body(obj), "", unknown))
        return result, unknown

    def validate(self, obj, old=None, on_unsupported=None):
        """Field errors of a pruned object; CEL rules run only when the
        structural validation found nothing blocking."""
        errors = []
        body = _body(obj)
        validate(self.root, body, "", errors)
        if any(isinstance(e, TypeInvalid) or e.type in _BLOCKING for e in errors):
            if self.root.has_rules:
                errors.append(_SKIPPED_RULES)
            return errors
        old_body = _body(old) if old is not None else _MISSING
        validate_rules(self.root, body, old_body, "", errors, on_unsupported or (lambda *a: None))
        return errors


def _body(obj):
    """An object without the type and object meta the schema does not cover."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}


class CRDEntry:
    """A registered CRD: names, scope and compiled versions."""

    def __init__(self, crd, versions):
        spec = crd["spec"]
        names = spec["names"]
        self.crd_name = crd["metadata"]["name"]
        self.group = spec["group"]
        self.kind = names["kind"]
        self.plural = names["plural"]
        self.singular = names.get("singular") or self.kind.lower()
        self.list_kind = names.get("listKind") or self.kind + "List"
        self.short_names = names.get("shortNames") or []
        self.categories = names.get("categories") or []
        self.namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        self.served = [v["name"] for v in spec["versions"] if v.get("served")]
        self.status_subresource = {v["name"] for v in spec["versions"] if "status" in (v.get("subresources") or {})}
        self.versions = versions


_COMPILED_VERSIONS = {}
_COMPILE_LOCK = threading.Lock()


def _compile_versions(spec):
    """Compiled VersionSchemas of a CRD spec, shared by identical CRDs (every
    test server installs the same Istio bundle)."""
    key = json.dumps(spec)
    with _COMPILE_LOCK:
        if key not in _COMPILED_VERSIONS:
            kind = spec["names"]["kind"]
            _COMPILED_VERSIONS[key] = {
                v["name"]: VersionSchema(kind, v["name"], (v.get("schema") or {}).get("openAPIV3Schema"))
                for v in spec["versions"]
            }
        return _COMPILED_VERSIONS[key]


class CRDIndex:
    """The custom resource kinds known to a server (or to a unit test)."""

    def __init__(self):
        self._entries = {}  # crd name -> CRDEntry
        self._unsupported = {}  # (kind, version, path, rule) -> record

    def add(self, crd):
        entry = CRDEntry(crd, _compile_versions(crd["spec"]))
        self._entries[entry.crd_name] = entry
        for version, schema in entry.versions.items():
            for path, rule in schema.root.walk_rules():
                if rule.unsupported:
                    self._record_unsupported(entry.kind, version, path, rule, rule.unsupported)
        return entry

    def remove(self, crd_name):
        return self._entries.pop(crd_name, None)

    def find(self, group, kind):
        for entry in self._entries.values():
            if entry.group == group and entry.kind == kind:
                return entry
        return None

    @property
    def unsupported_rules(self):
        """Rules skipped because this evaluator cannot run them."""
        return list(self._unsupported.values())

    def rule_coverage(self):
        """Counts over every rule occurrence of every served version."""
        total = unsupported = 0
        for entry in self._entries.values():
            for schema in entry.versions.values():
                for _path, rule in schema.root.walk_rules():
                    total += 1
                    unsupported += bool(rule.unsupported)
        return {"rules": total, "evaluated": total - unsupported, "skipped": unsupported}

    def _record_unsupported(self, kind, version, path, rule, reason):
        key = (kind, version, path, rule.text)
        if key not in self._unsupported:
            self._unsupported[key] = {"kind": kind, "version": version, "path": path, "rule": rule.text,
                                      "reason": reason}

    def schema_for(self, obj):
        group, _sep, version = obj.get("apiVersion", "").rpartition("/")
        entry = self.find(group, obj.get("kind"))
        if entry is None or version not in entry.versions:
            return None
        return entry.versions[version]

    def prune_object(self, obj):
        """(copy without unknown fields, their paths) for a registered kind."""
        return self.schema_for(obj).prune(obj)

    def validate_pruned(self, obj, old=None):
        """FieldErrors of a pruned object; ``old`` enables transition rules."""
        schema = self.schema_for(obj)

        def record(path, rule, reason):
            self._record_unsupported(schema.kind, schema.version, path, rule, reason)
        return schema.validate(obj, old, record)

    @staticmethod
    def compile_errors(crd):
        """FieldErrors for a CRD whose schemas cannot be compiled (e.g. a bad pattern)."""
        try:
            _compile_versions(crd["spec"])
        except (re.error, TypeError, AttributeError, KeyError) as error:
            return [FieldError("spec.versions", "Invalid value", "cannot compile schema: %s" % error,
                               crd["metadata"].get("name"))]
        return []

    def validate(self, obj, strict=True):
        """kube-apiserver style error strings for ``obj`` (empty when valid);
        with ``strict`` unknown fields are errors, as with fieldValidation=Strict."""
        if self.schema_for(obj) is None:
            return ['no matches for kind "%s" in version "%s"' % (obj.get("kind"), obj.get("apiVersion"))]
        pruned, unknown = self.prune_object(obj)
        errors = self.validate_pruned(pruned)
        messages = ['unknown field "%s"' % p for p in unknown] if strict else []
        messages += [str(e) for e in validate_object_meta(pruned.get("metadata") or {})]
        return messages + [str(e) for e in errors]

    def prune(self, obj):
        """Copy of ``obj`` as the server would store it (unknown fields dropped)."""
        schema = self.schema_for(obj)
        if schema is None:
            raise KeyError('no matches for kind "%s" in version "%s"' % (obj.get("kind"), obj.get("apiVersion")))
        return schema.prune(obj)[0]


def read_crd_documents(path):
    with open(path) as stream:
        return [d for d in yaml.load_all(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                if d and d.get("kind") == "CustomResourceDefinition"]


def load_crds(path):
    index = CRDIndex()
    for crd in read_crd_documents(path):
        index.add(crd)
    return index
