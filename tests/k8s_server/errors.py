"""Kubernetes ``Status`` errors, shaped like kube-apiserver's.

Clients branch on ``code``/``reason`` (kubernetes.dynamic maps codes to
exception classes) and Ansible prints ``message``, so all three follow the
real server's wording.
"""
import json


class FieldError:
    """One entry of an Invalid error, rendered like k8s ``field.Error``."""

    # type -> (cause reason, whether the rendering includes the bad value)
    TYPES = {
        "Required value": ("FieldValueRequired", False),
        "Forbidden": ("FieldValueForbidden", False),
        "Too long": ("FieldValueTooLong", False),
        "Invalid value": ("FieldValueInvalid", True),
        "Unsupported value": ("FieldValueNotSupported", True),
        "Duplicate value": ("FieldValueDuplicate", True),
        "Too many": ("FieldValueTooMany", True),
    }

    def __init__(self, path, error_type, detail="", value=None):
        self.path = path or "<nil>"
        self.type = error_type
        self.detail = detail
        self.value = value

    def body(self):
        text = self.type
        if self.TYPES[self.type][1]:
            text += ": " + render_value(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return "%s: %s" % (self.path, self.body())

    def cause(self):
        return {"reason": self.TYPES[self.type][0], "message": self.body(), "field": self.path}


class Literal(str):
    """A bad value rendered as is, like Go's %#v of e.g. a uint64 (``0x0``)."""


def render_value(value):
    """Go's %v/%q style used in field errors: strings quoted, numbers bare."""
    if isinstance(value, Literal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class ApiError(Exception):
    """An error answered as a ``Status`` object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        }
        if self.reason:  # omitempty: errors of unknown cause have none
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        return body


def _qualified(plural, group):
    return "%s.%s" % (plural, group) if group else plural


def _details(name, kind, group):
    details = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(plural, group, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (_qualified(plural, group), name),
                    _details(name, plural, group))


def no_route():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(plural, group, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (_qualified(plural, group), name),
                    _details(name, plural, group))


def conflict(plural, group, name, why="the object has been modified; please apply your changes "
                                      "to the latest version and try again"):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (_qualified(plural, group), name, why), _details(name, plural, group))


def invalid(kind, group, name, field_errors):
    """422 Invalid; ``kind`` is the Kind (``VirtualService``), not the plural."""
    rendered = [str(e) for e in field_errors]
    listing = rendered[0] if len(rendered) == 1 else "[%s]" % ", ".join(rendered)
    details = _details(name, kind, group)
    details["causes"] = [e.cause() for e in field_errors]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (_qualified(kind, group), name, listing),
                    details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(plural, group, name, why):
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (_qualified(plural, group), name, why),
                    _details(name, plural, group))


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                    {})


def unsupported_media_type(accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message,
                    {"causes": [{"message": message}]})


# Reasons used when a test injects a bare status code.
REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}
