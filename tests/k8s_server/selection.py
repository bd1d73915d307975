"""Label and field selectors with the syntax of k8s.io/apimachinery ``labels.Parse``.

A selector is parsed once per request into a list of predicates over a
``dict`` of labels (or of selectable fields), so matching a LIST of
thousands of objects is a tight loop.
"""
import re

from .errors import bad_request

_REQUIREMENT = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<nkey>[^\s,=!<>()]+)                                   # !key
      | (?P<key>[^\s,=!<>()]+)\s*
        (?:(?P<op>==|=|!=|<|>)\s*(?P<value>[^\s,()]*)                          # key=value
          |(?P<setop>in|notin)\s*\((?P<values>[^()]*)\)                         # key in (a,b)
        )?
    )\s*(?:,|$)""",
    re.VERBOSE,
)


def _requirement(match):
    if match.group("not"):
        key = match.group("nkey")
        return lambda labels: key not in labels
    key = match.group("key")
    if match.group("setop"):
        values = {v.strip() for v in match.group("values").split(",") if v.strip()}
        if match.group("setop") == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    op = match.group("op")
    if op is None:
        return lambda labels: key in labels
    value = match.group("value")
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    try:
        bound = int(value)
    except ValueError:
        raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be "
                          "an integer") from None
    if op == ">":
        return lambda labels: _int_or_none(labels.get(key)) is not None and int(labels[key]) > bound
    return lambda labels: _int_or_none(labels.get(key)) is not None and int(labels[key]) < bound


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _parse(text):
    predicates = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _REQUIREMENT.match(text, position)
        if not match or match.end() == position:
            raise bad_request("unable to parse requirement: invalid selector: %r" % text)
        predicates.append((match, _requirement(match)))
        position = match.end()
    return predicates


def label_matcher(text):
    """Predicate over an object's ``metadata.labels`` dict; ``None`` matches all."""
    if not text or not text.strip():
        return None
    predicates = [p for _key, p in _parse(text)]
    return lambda labels: all(p(labels) for p in predicates)


def field_matcher(text, supported_fields):
    """Predicate over an object for ``fieldSelector``; only equality operators,
    and only fields the resource declares selectable, like the real server."""
    if not text or not text.strip():
        return None
    fields = []
    for match, predicate in _parse(text):
        field = match.group("key") or match.group("nkey")
        if match.group("op") not in ("=", "==", "!="):
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, match.group(0).strip(" ,")))
        if field not in supported_fields:
            raise bad_request('field label not supported: %s' % field)
        fields.append((field, predicate))

    def matches(obj):
        values = {field: _lookup(obj, field) for field, _predicate in fields}
        return all(predicate(values) for _field, predicate in fields)
    return matches


def _lookup(obj, dotted):
    value = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    # Absent fields select as the empty string, as in the real field sets.
    return "" if value is None else str(value)
