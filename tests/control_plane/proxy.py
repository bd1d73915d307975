"""A loopback proxy in front of the real API server: injected faults and added latency.

It terminates TLS with a certificate of the control plane's CA (so clients
keep verifying the server), forwards each request unchanged, Authorization
header included, and answers with the API server's answer, unless a fault
says otherwise. Only bearer-token clients can go through it (a client
certificate ends at the proxy).
"""
import http.client
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from .https import LoopbackServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "proxy-connection", "te", "upgrade"}
# The reason the API server's own Status carries for each code (a client may show it).
_REASONS = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}


def describe(method, target):
    """The request as a fault matches it: verb, group, version, plural, namespace, name, subresource, dry_run."""
    split = urlsplit(target)
    query = parse_qs(split.query)
    parts = [part for part in split.path.split("/") if part]
    entry = {"verb": "discovery", "group": None, "version": None, "plural": None, "namespace": None, "name": None,
             "subresource": None, "dry_run": "All" in query.get("dryRun", []), "path": split.path}
    if parts[:1] == ["api"] and len(parts) > 2:
        entry.update(group="", version=parts[1])
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) > 3:
        entry.update(group=parts[1], version=parts[2])
        rest = parts[3:]
    else:
        return entry
    if rest[0] == "namespaces" and len(rest) > 2:
        entry["namespace"] = rest[1]
        rest = rest[2:]
    entry.update(plural=rest[0], name=rest[1] if len(rest) > 1 else None, subresource=rest[2] if len(rest) > 2 else None)
    named = entry["name"] is not None
    entry["verb"] = {
        "GET": "get" if named else ("watch" if query.get("watch", ["false"])[0] in ("true", "1") else "list"),
        "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete" if named else "deletecollection",
    }.get(method, "other")
    return entry


class Fault:
    """``match``: a dict of request fields that must all be equal (see ``describe``),
    or a callable taking that dict; ``times=None`` never runs out. ``delay``
    stalls the request, then it goes on (an answer later than the client waits)."""

    def __init__(self, match=None, status=500, times=1, retry_after=None, delay=None, drop=False):
        self.match, self.status, self.remaining = match, status, times
        self.retry_after, self.delay, self.drop = retry_after, delay, drop
        self.hits = 0

    def matches(self, entry):
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(entry))
        return all(entry.get(key) == value for key, value in self.match.items())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the audit log records requests
        pass

    def _upstream(self):
        connection = getattr(self, "_connection", None)
        if connection is None:
            proxy = self.server.proxy
            connection = http.client.HTTPSConnection("127.0.0.1", proxy.upstream_port, context=proxy.client_context,
                                                     timeout=300)
            self._connection = connection
        return connection

    def _handle(self):
        proxy = self.server.proxy
        proxy.in_flight(1)
        try:
            self._forward(proxy)
        finally:
            proxy.in_flight(-1)

    def _forward(self, proxy):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if proxy.latency:
            time.sleep(proxy.latency)
        fault = proxy.take(describe(self.command, self.path))
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault.status is not None:
                self._send_fault(fault)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = self._upstream()
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
        except (OSError, http.client.HTTPException):
            self._connection = None
            upstream.close()
            self.close_connection = True
            return
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        if response.getheader("Content-Length") is not None:
            data = response.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        # A stream (a watch): relay it chunk by chunk as it comes.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            chunk = response.read1(65536)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            if not chunk:
                break

    def _send_fault(self, fault):
        reason = _REASONS.get(fault.status, "InternalError")
        data = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"injected fault (%s)",'
                '"reason":"%s","code":%d}' % (reason, reason, fault.status)).encode()
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if fault.retry_after is not None:
            self.send_header("Retry-After", str(fault.retry_after))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class FaultProxy:
    def __init__(self, upstream_port, ca_file, serving_crt, serving_key):
        self.upstream_port = upstream_port
        self.client_context = ssl.create_default_context(cafile=ca_file)
        self.latency = 0.0
        self._faults = []
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._server = LoopbackServer(_Handler, serving_crt, serving_key, "api-fault-proxy", proxy=self)

    @property
    def port(self):
        return self._server.port

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self._faults = []
        self.latency = 0.0

    def in_flight(self, change):
        with self._idle:
            self._busy += change
            if not self._busy:
                self._idle.notify_all()

    def drain(self, timeout=15.0):
        """Wait until no request is in the proxy: one a fault held past its client's timeout still
        reaches the API server, and must do so before the next test, not during it."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def take(self, entry):
        with self._lock:
            for fault in self._faults:
                if fault.remaining != 0 and fault.matches(entry):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def stop(self):
        self._server.stop()
