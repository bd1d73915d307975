"""ObjectMeta validation shared by every kind: names, labels, annotations.

Messages are the apimachinery validation messages, so a template that
renders an invalid name or label fails here exactly as on a cluster.
"""
import re

from .errors import FieldError

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(" + _QUALIFIED_NAME + r")?"

NAME_RULES = {
    "subdomain": (re.compile(_DNS1123_SUBDOMAIN), 253,
                  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                  "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                  "for validation is '%s')" % _DNS1123_SUBDOMAIN),
    "label": (re.compile(_DNS1123_LABEL), 63,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '%s')" % _DNS1123_LABEL),
    "dns1035": (re.compile(_DNS1035_LABEL), 63,
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '%s')" % _DNS1035_LABEL),
}
_QUALIFIED_NAME_MESSAGE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
                           "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                           "regex used for validation is '%s')" % _QUALIFIED_NAME)
_LABEL_VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                        "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                        "'my_value',  or '12345', regex used for validation is '%s')" % _LABEL_VALUE)
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def validate_name(name, rule):
    """Problems with ``name`` under a NAME_RULES rule, or "path-segment"
    (RBAC objects allow e.g. ``system:viewer``)."""
    if rule == "path-segment":
        if name in (".", ".."):
            return ['may not be %r' % name]
        return ['may not contain %r' % c for c in ("/", "%") if c in name]
    pattern, limit, message = NAME_RULES[rule]
    problems = []
    if len(name) > limit:
        problems.append("must be no more than %d characters" % limit)
    if not pattern.fullmatch(name):
        problems.append(message)
    return problems


def validate_object_meta(meta, name_rule="subdomain"):
    errors = []
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        errors.append(FieldError("metadata.name", "Required value", "name or generateName is required"))
    elif name:
        errors += [FieldError("metadata.name", "Invalid value", p, name) for p in validate_name(name, name_rule)]
    errors += _validate_labels(meta.get("labels") or {})
    errors += _validate_annotations(meta.get("annotations") or {})
    return errors


def _validate_key(key, path):
    prefix, _sep, name = key.rpartition("/")
    errors = []
    if prefix:
        errors += [FieldError(path, "Invalid value", "prefix part " + p, key)
                   for p in validate_name(prefix, "subdomain")]
    if not name:
        errors.append(FieldError(path, "Invalid value", "name part must be non-empty", key))
    elif len(name) > 63:
        errors.append(FieldError(path, "Invalid value", "name part must be no more than 63 characters", key))
    elif not re.fullmatch(_QUALIFIED_NAME, name):
        errors.append(FieldError(path, "Invalid value", _QUALIFIED_NAME_MESSAGE, key))
    return errors


def _validate_labels(labels):
    errors = []
    for key, value in labels.items():
        errors += _validate_key(key, "metadata.labels")
        if not isinstance(value, str):
            continue  # type errors are reported by decoding
        if len(value) > 63:
            errors.append(FieldError("metadata.labels", "Invalid value", "must be no more than 63 characters",
                                     value))
        elif not re.fullmatch(_LABEL_VALUE, value):
            errors.append(FieldError("metadata.labels", "Invalid value", _LABEL_VALUE_MESSAGE, value))
    return errors


def _validate_annotations(annotations):
    errors = []
    size = 0
    for key, value in annotations.items():
        errors += _validate_key(key.lower(), "metadata.annotations")
        size += len(key) + len(value if isinstance(value, str) else "")
    if size > _ANNOTATIONS_MAX_BYTES:
        errors.append(FieldError("metadata.annotations", "Too long",
                                 "must have at most %d bytes" % _ANNOTATIONS_MAX_BYTES))
    return errors
