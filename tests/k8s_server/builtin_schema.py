"""Decoding of built-in kinds, driven by the kubernetes client's generated models.

kube-apiserver decodes built-in objects into Go structs: unknown fields are
dropped (or rejected under ``fieldValidation=Strict``), nulls become zero
values, and a JSON value of the wrong type is a 400 "cannot unmarshal"
error. The client models (``openapi_types`` and ``attribute_map``) carry
the same field names and types, so they stand in for the Go structs.
"""
import functools
import re

from kubernetes.client import models

from .errors import bad_request

# Quantity fields are strings in the models but accept JSON numbers (cpu: 1).
_QUANTITIES = {
    ("V1ResourceRequirements", "limits"), ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"), ("V1VolumeResourceRequirements", "requests"),
    ("V1EmptyDirVolumeSource", "size_limit"), ("V1PodSpec", "overhead"),
    ("V2MetricTarget", "average_value"), ("V2MetricTarget", "value"),
    ("V2MetricValueStatus", "average_value"), ("V2MetricValueStatus", "value"),
}
_SCALARS = {
    "str": ("string", lambda v: isinstance(v, str)),
    "datetime": ("v1.Time", lambda v: isinstance(v, str)),
    "bytes": ("[]uint8", lambda v: isinstance(v, str)),
    "int": ("int32", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("float64", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": ("bool", lambda v: isinstance(v, bool)),
    "quantity": ("resource.Quantity", lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool)),
}
_GO_JSON_TYPES = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}
_LIST = re.compile(r"List\[(.+)\]$")
_DICT = re.compile(r"Dict\[str, (.+)\]$")


class DecodeError(Exception):
    pass


@functools.lru_cache(maxsize=None)
def _fields(model_name):
    """JSON field name -> type string for one model."""
    model = getattr(models, model_name)
    fields = {}
    for attr, type_name in model.openapi_types.items():
        if (model_name, attr) in _QUANTITIES:
            type_name = "Dict[str, quantity]" if type_name.startswith("Dict") else "quantity"
        fields[model.attribute_map[attr]] = type_name
    return fields


def _go_type(type_name):
    if type_name in _SCALARS:
        return _SCALARS[type_name][0]
    if type_name == "object":
        return "interface {}"
    match = _LIST.match(type_name)
    if match:
        return "[]" + _go_type(match.group(1))
    match = _DICT.match(type_name)
    if match:
        return "map[string]" + _go_type(match.group(1))
    return "v1." + struct_name(type_name)


def struct_name(model_name):
    """``V1DeploymentSpec`` -> ``DeploymentSpec``, ``RbacV1Subject`` -> ``Subject``."""
    return re.sub(r"^(?:[A-Z][a-z]+)?V\d+(?:alpha\d+|beta\d+)?", "", model_name)


def _decode(type_name, value, path, struct, unknown):
    if type_name == "object":
        # Free-form JSON (int-or-string, raw extensions, schema fragments) is
        # shared, not copied: stored objects are never mutated in place.
        return value
    scalar = _SCALARS.get(type_name)
    if scalar is not None:
        if not scalar[1](value):
            raise DecodeError("json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                              % (_GO_JSON_TYPES.get(type(value), "value"), struct, path, scalar[0]))
        return value
    match = _LIST.match(type_name)
    if match:
        _expect(value, list, path, struct, type_name)
        return [_decode(match.group(1), v, path, struct, unknown) for v in value if v is not None]
    match = _DICT.match(type_name)
    if match:
        _expect(value, dict, path, struct, type_name)
        return {k: _decode(match.group(1), v, path, struct, unknown) for k, v in value.items() if v is not None}
    _expect(value, dict, path, struct, type_name)
    return decode_model(type_name, value, path, unknown)


def _expect(value, python_type, path, struct, type_name):
    if not isinstance(value, python_type):
        raise DecodeError("json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                          % (_GO_JSON_TYPES.get(type(value), "value"), struct, path, _go_type(type_name)))


def decode_model(model_name, value, path, unknown):
    """Copy of ``value`` decoded as ``model_name``: nulls and unknown fields
    dropped (unknown paths appended to ``unknown``). Raises DecodeError."""
    fields = _fields(model_name)
    struct = struct_name(model_name)
    result = {}
    for key, member in value.items():
        member_path = "%s.%s" % (path, key) if path else key
        type_name = fields.get(key)
        if type_name is None:
            unknown.append(member_path)
        elif member is not None:
            result[key] = _decode(type_name, member, member_path, struct, unknown)
    return result


def decode(model_name, kind, version, obj):
    """(decoded object, unknown field paths) or a 400 ApiError like the real
    server's "<Kind> in version ... cannot be handled as a <Kind>"."""
    unknown = []
    try:
        return decode_model(model_name, obj, "", unknown), unknown
    except DecodeError as error:
        raise bad_request('%s in version "%s" cannot be handled as a %s: %s' % (kind, version, kind, error)) \
            from None
