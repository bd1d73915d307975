"""``x-kubernetes-validations`` rules evaluated with cel-python (``celpy``).

Rules are compiled once per distinct text (process-wide cache) with celpy's
transpiling runner, which is several times faster than its tree interpreter.
Kubernetes' CEL library extensions that CRDs use (strings ``substring``
and friends, ``url()``/``isURL``, ``ip()``/``cidr()``, Go-style
``duration()``) are provided below. A rule that cannot be compiled, or that
needs a function this module lacks, is never silently passed: it is marked
unsupported and reported through ``RuleOutcome.unsupported`` so callers can
record it.
"""
import ipaddress
import json
import logging
import re
import threading
import types
from datetime import timedelta

import celpy
import celpy.evaluation
from celpy import celtypes
from celpy.celparser import CELParseError

# celpy logs every evaluation error at ERROR level; rule failures are normal here.
logging.getLogger("celpy").setLevel(logging.CRITICAL)

_ENV = celpy.Environment(runner_class=celpy.CompiledRunner)
# The transpiled code reads its activation from celpy.evaluation's module
# globals, so evaluations must not interleave across threads.
_EVAL_LOCK = threading.Lock()
# Errors meaning "this evaluator cannot run the rule", as opposed to the rule
# failing on the data (which the real server also reports as invalid).
_UNSUPPORTED_MARKERS = ("unbound function", "no such overload", "undeclared reference")
_MEMO_LIMIT = 20_000  # entries per rule
_MEMO_KEY_LIMIT = 1024  # characters of a memoized value


# --- Kubernetes CEL library extensions ----------------------------------------------------------

def substring(text, start, end=None):
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise IndexError("index out of range: %d" % (start if start > len(text) or start < 0 else end))
    return celtypes.StringType(text[start:end])


def lowerAscii(text):
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in text))


def upperAscii(text):
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in text))


def trim(text):
    return celtypes.StringType(text.strip())


def replace(text, old, new, limit=-1):
    return celtypes.StringType(text.replace(old, new, limit))


def split(text, separator, limit=-1):
    if limit == 0:
        return celtypes.ListType([])
    parts = text.split(separator, limit - 1) if limit > 0 else text.split(separator)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def join(items, separator=""):
    return celtypes.StringType(separator.join(items))


def indexOf(text, sub, start=0):
    return celtypes.IntType(text.find(sub, start))


def lastIndexOf(text, sub):
    return celtypes.IntType(text.rfind(sub))


_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration(text):
    """Go ``time.ParseDuration`` syntax (celpy's own also accepts ``d``)."""
    if isinstance(text, timedelta):
        return celtypes.DurationType(text)
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if body == "0":
        return celtypes.DurationType(0)
    seconds, position = 0.0, 0
    for match in _GO_DURATION.finditer(body):
        if match.start() != position or match.group(1) in ("", "."):
            break
        seconds += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise ValueError('time: invalid duration "%s"' % text)
    return celtypes.DurationType(timedelta(seconds=sign * seconds))


class URL:
    """Result of ``url()``; mimics Go's ``url.ParseRequestURI``."""

    _SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
    _HOST = re.compile(r"[A-Za-z0-9.\-_~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.]+\]")

    def __init__(self, text):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) or re.search(r"%(?![0-9A-Fa-f]{2})", text):
            raise ValueError("URL %r is not valid" % text)
        match = self._SCHEME.match(text)
        if match:
            self.scheme, rest = match.group(1).lower(), text[match.end():]
        elif text.startswith("/"):
            self.scheme, rest = "", text
        else:
            raise ValueError("URL %r is not a valid request URI" % text)
        rest, _sep, self.query = rest.partition("?")
        self.host, self.path = "", rest
        if rest.startswith("//"):
            authority, slash, path = rest[2:].partition("/")
            self.host = authority.rpartition("@")[2]
            self.path = slash + path
            hostname, port = self._split_host(self.host)
            if not self._HOST.fullmatch(hostname) or (port and not port.isdigit()):
                raise ValueError("URL %r has an invalid host" % text)

    @staticmethod
    def _split_host(host):
        if host.startswith("["):
            hostname, _sep, port = host.partition("]")
            return hostname + "]", port.lstrip(":")
        hostname, _sep, port = host.partition(":")
        return hostname, port


def isURL(text):
    try:
        URL(text)
        return celtypes.BoolType(True)
    except ValueError:
        return celtypes.BoolType(False)


def url(text):
    return URL(text)


def getScheme(value):
    return celtypes.StringType(value.scheme)


def getHost(value):
    return celtypes.StringType(value.host)


def getHostname(value):
    return celtypes.StringType(URL._split_host(value.host)[0].strip("[]"))


def getPort(value):
    return celtypes.StringType(URL._split_host(value.host)[1])


def getEscapedPath(value):
    return celtypes.StringType(value.path)


def isIP(text):
    try:
        ipaddress.ip_address(text)
        return celtypes.BoolType("%" not in text)
    except ValueError:
        return celtypes.BoolType(False)


def ip(text):
    if "%" in text:
        raise ValueError("IP address with zone value is not allowed")
    return ipaddress.ip_address(text)


def isCIDR(text):
    try:
        ipaddress.ip_interface(text)
        return celtypes.BoolType("/" in text)
    except ValueError:
        return celtypes.BoolType(False)


def cidr(text):
    if "/" not in text:
        raise ValueError("network address parse error during conversion from string: %s" % text)
    return ipaddress.ip_interface(text)


def family(value):
    return celtypes.IntType(value.version)


def containsIP(network, address):
    address = ipaddress.ip_address(address) if isinstance(address, str) else address
    return celtypes.BoolType(address in network.network)


def prefixLength(network):
    return celtypes.IntType(network.network.prefixlen)


_EXTENSIONS = {f.__name__: f for f in (
    substring, lowerAscii, upperAscii, trim, replace, split, join, indexOf, lastIndexOf, duration,
    isURL, url, getScheme, getHost, getHostname, getPort, getEscapedPath,
    isIP, ip, isCIDR, cidr, family, containsIP, prefixLength,
)}
# The transpiler emits calls as "<function.__module__>.<name>(...)" and runs
# them in celpy.evaluation's globals; publish the extensions there under a
# namespace of their own so that lookup works whatever this package is called.
_NAMESPACE = "k8s_cel_extensions"
for _function in _EXTENSIONS.values():
    _function.__module__ = _NAMESPACE
vars(celpy.evaluation)[_NAMESPACE] = types.SimpleNamespace(**_EXTENSIONS)


# --- rules --------------------------------------------------------------------------------------

class RuleOutcome:
    """Result of one evaluation: ``passed``; else ``error`` (a field-error
    detail) or ``unsupported`` (why this evaluator could not run it)."""

    __slots__ = ("passed", "error", "unsupported")

    def __init__(self, passed=False, error=None, unsupported=None):
        self.passed = passed
        self.error = error
        self.unsupported = unsupported


PASSED = RuleOutcome(passed=True)


class Rule:
    """One compiled ``x-kubernetes-validations`` entry.

    celpy evaluation costs ~0.1 ms, so outcomes are memoized by the part of
    ``self`` the rule can see: rules that only select fields of ``self``
    (``self.a``, ``has(self.b)``) see a projection of those fields, which
    repeats across objects even when the objects differ elsewhere.
    """

    def __init__(self, spec):
        self.text = spec["rule"]
        self.message = spec.get("message")
        self.field_path = spec.get("fieldPath", "")
        self.reason = spec.get("reason", "FieldValueInvalid")
        self.is_transition = bool(re.search(r"\boldSelf\b", self.text))
        self.program, self.unsupported = _compile(self.text)
        self.fields = _selected_fields(self.text)
        message_expression = spec.get("messageExpression")
        self.message_program = _compile(message_expression)[0] if message_expression else None
        self._memo = {}

    def evaluate(self, value, old_value, to_cel):
        """Outcome for plain JSON ``value`` (and ``old_value`` for transition
        rules); ``to_cel`` converts them to CEL values typed by the schema."""
        if self.unsupported:
            return RuleOutcome(unsupported=self.unsupported)
        if self.fields is not None and isinstance(value, dict):
            value = {f: value[f] for f in self.fields if f in value}
        memo_key = None if self.is_transition else _memo_key(value)
        if memo_key is not None:
            cached = self._memo.get(memo_key)
            if cached is not None:
                return cached
        outcome = self._run(to_cel(value), to_cel(old_value) if self.is_transition else None)
        if memo_key is not None and outcome.unsupported is None:
            if len(self._memo) > _MEMO_LIMIT:
                self._memo.clear()
            self._memo[memo_key] = outcome
        return outcome

    def _run(self, self_value, old_value):
        activation = {"self": self_value}
        if self.is_transition:
            activation["oldSelf"] = old_value
        try:
            with _EVAL_LOCK:
                result = self.program.evaluate(activation)
        except celpy.evaluation.CELEvalError as error:
            cause = _root_cause(error)
            if any(marker in cause for marker in _UNSUPPORTED_MARKERS):
                return RuleOutcome(unsupported="evaluation: " + cause)
            # Same wording as kube-apiserver for rules that fail with an error.
            return RuleOutcome(error="%s evaluating rule: %s" % (cause, self.message or self.text))
        if not isinstance(result, celtypes.BoolType):
            return RuleOutcome(unsupported="rule returned %s, not bool" % type(result).__name__)
        if result:
            return PASSED
        return RuleOutcome(error=self._failure_message(activation))

    def _failure_message(self, activation):
        if self.message_program is not None:
            try:
                with _EVAL_LOCK:
                    text = self.message_program.evaluate(activation)
                if isinstance(text, str) and text.strip():
                    return str(text)
            except Exception:  # the real server falls back to message/rule too
                pass
        if self.message:
            return self.message
        return "failed rule: %s" % self.text


# celpy's transpiler makes has() return a Python bool, which its own ``!``,
# ``?:``, ``&&`` and ``||`` then reject; ``"f" in e`` is the same test on the
# map values used for objects here and transpiles correctly.
_HAS = re.compile(r"\bhas\(\s*([A-Za-z_][\w.]*)\.(\w+)\s*\)")
_SELF_USE = re.compile(r"""["'](\w+)["'] in self(?![\w.])|\bself\b(?:\.(\w+)(\s*\()?)?""")
_NESTED_ERROR = re.compile(r"""CELEvalError\(\*\((['"])(.*?)\1, <class '([\w.]+)'>, \((['"])(.*?)\4""")
_COMPILED = {}
_COMPILE_LOCK = threading.Lock()


def _rewrite(text):
    return _HAS.sub(r'("\2" in \1)', text)


def _compile(text):
    """(program, None) or (None, reason); cached per rule text."""
    with _COMPILE_LOCK:
        if text not in _COMPILED:
            try:
                program = _ENV.program(_ENV.compile(_rewrite(text)), functions=_EXTENSIONS)
            except CELParseError as error:
                _COMPILED[text] = (None, "parse error: %s" % error.args[0].strip())
            except Exception as error:  # celpy's transpiler raises assorted errors on odd input
                _COMPILED[text] = (None, "compile error: %s" % error)
            else:
                missing = re.findall(r"'unbound function', KeyError, \('([^']+)'", program.tp.source_text)
                _COMPILED[text] = ((None, "unsupported function(s): %s" % ", ".join(sorted(set(missing))))
                                   if missing else (program, None))
        return _COMPILED[text]


def _selected_fields(text):
    """Fields of ``self`` a rule selects, or None when it uses ``self`` whole."""
    fields = set()
    for match in _SELF_USE.finditer(_rewrite(text)):
        field = match.group(1) or (match.group(2) if not match.group(3) else None)
        if field is None:
            return None
        fields.add(field)
    return fields


def _memo_key(value):
    if isinstance(value, (str, int, float)):
        return type(value), value
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _MEMO_KEY_LIMIT else None


def _root_cause(error):
    """Most specific message inside celpy's nested error tuples.

    celpy wraps errors as ``(message, exception class, original args)``,
    nesting further wrappers inside the args. Operators and macros applied to
    failed operands surface as "no such overload" with the operand errors
    embedded in the text: those are data errors, not missing features.
    """
    args = error.args
    while len(args) >= 3 and isinstance(args[2], tuple) and len(args[2]) >= 3 and isinstance(args[2][1], type):
        args = args[2]
    if len(args) < 3:
        return str(args[0]) if args else repr(error)
    message, cause, original = args[0], args[1], args[2][0] if args[2] else ""
    if "CELEvalError" in str(original):
        for _whole, inner_message, inner_cause, _rest, inner_original in _NESTED_ERROR.findall(str(original)):
            if inner_message != "no such overload":
                return inner_original if inner_cause.endswith(("ValueError", "IndexError")) else inner_message
        return "error in an operand"
    # Our extension functions raise ValueError/IndexError with Go-like texts.
    return str(original) if cause in (ValueError, IndexError) and original else message
