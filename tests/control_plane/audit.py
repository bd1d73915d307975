"""The API server's audit log, read as the tests' request log.

kube-apiserver writes one JSON event per request (policy: Metadata level, the
ResponseComplete stage only). Each becomes a record: ``verb``, ``path``,
``group``, ``version``, ``plural``, ``namespace``, ``name``, ``subresource``,
``dry_run``, ``status``, ``user``. ``verb`` is the API verb (get, list, watch,
create, update, patch, delete, deletecollection) or ``discovery`` for the
non-resource paths clients read to learn the API (/api, /apis..., /version,
/openapi...).
"""
import json
from urllib.parse import parse_qs, urlsplit

POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""
WRITES = ("create", "update", "patch", "delete", "deletecollection")
VERBS = ("get", "list", "watch") + WRITES + ("discovery",)


def record(event):
    """One audit event -> one request record."""
    uri = event.get("requestURI", "")
    split = urlsplit(uri)
    ref = event.get("objectRef") or {}
    verb = event.get("verb", "")
    if not ref:
        verb = "discovery" if split.path.startswith(("/api", "/version", "/openapi")) else "other"
    return {
        "verb": verb,
        "path": split.path,
        "group": ref.get("apiGroup", ""),
        "version": ref.get("apiVersion", ""),
        "plural": ref.get("resource"),
        "namespace": ref.get("namespace"),
        "name": ref.get("name"),
        "subresource": ref.get("subresource"),
        "dry_run": "All" in parse_qs(split.query).get("dryRun", []),
        "status": (event.get("responseStatus") or {}).get("code", 0),
        "user": (event.get("user") or {}).get("username", ""),
    }


def counts(records):
    """Per verb (dry-run writes excluded), ``dry_run``, ``writes`` (successful
    real writes), ``failed`` (status >= 400) and ``requests`` (all)."""
    result = dict.fromkeys(VERBS + ("other", "dry_run", "writes", "failed"), 0)
    for entry in records:
        if entry["dry_run"] and entry["verb"] in WRITES:
            result["dry_run"] += 1
        else:
            result[entry["verb"]] = result.get(entry["verb"], 0) + 1
            if entry["verb"] in WRITES and entry["status"] < 400:
                result["writes"] += 1
        if entry["status"] >= 400:
            result["failed"] += 1
    result["requests"] = len(records)
    return result


class AuditLog:
    """Incremental reader of the audit log file: records from a mark on."""

    def __init__(self, path):
        self.path = path
        self._offset = 0
        self._records = []
        self._unauthenticated = []

    def _read(self):
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        for line in data[:end].splitlines():
            event = json.loads(line) if line.strip() else {}
            # Long-running requests (watch, pod logs) also log ResponseStarted.
            if event.get("stage") in ("ResponseComplete", "Panic"):
                self._records.append(record(event))
            elif event.get("stage") == "ResponseStarted" and not (event.get("user") or {}).get("username"):
                # Refused at authentication (401): logged at ResponseStarted only, with no user.
                self._unauthenticated.append(record(event))
        self._offset += end

    def records(self):
        self._read()
        return list(self._records)

    def unauthenticated(self):
        """Records of the requests refused at authentication, which ``records`` leaves out."""
        self._read()
        return list(self._unauthenticated)

    def mark(self):
        """Forget what was read so far (the counters' reset)."""
        self._read()
        self._records = []
        self._unauthenticated = []
