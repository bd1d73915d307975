"""HTTP layer: parse requests, authenticate, inject faults, log, answer JSON."""
import json
import logging
import socket
import time
import traceback
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote

from . import discovery, errors, routing
from .api import Request, Response
from .errors import ApiError

LOG = logging.getLogger(__name__)
_HEALTH = ("healthz", "livez", "readyz")


class Handler(BaseHTTPRequestHandler):
    """One instance per connection; ``self.server.app`` is the TestAPIServer."""

    protocol_version = "HTTP/1.1"  # keep-alive: the clients pool connections

    def setup(self):
        super().setup()
        # Responses are small single writes: send them at once, not after
        # Nagle's algorithm waits for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass  # requests are recorded in app.log instead

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self):
        app = self.server.app
        raw_path, _sep, query_string = self.path.partition("?")
        parts = [unquote(p) for p in routing.split(raw_path)]
        query = parse_qs(query_string, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, query, self.headers, self.rfile.read(length) if length else b"")
        if parts[:1] == ["_test"]:
            return self._send(self._test_endpoint(app, parts[1:]))
        if parts[:1] and parts[0] in _HEALTH:
            return self._send(Response(200, "ok", content_type="text/plain"))
        entry = {"verb": "other", "method": self.command, "path": raw_path, "group": None, "version": None,
                 "plural": None, "kind": None, "namespace": None, "name": None, "subresource": None,
                 "dry_run": request.dry_run, "status": None}
        try:
            response = self._answer(app, request, parts, entry)
        except ApiError as error:
            response = Response(error.code, error.status(), headers=error.headers)
        except ConnectionDropped:
            entry["status"] = 0
            app.log.record(entry)
            self.close_connection = True
            return None
        except Exception:  # a bug in the server: answer like kube-apiserver would, and say where
            LOG.error("request %s %s failed:\n%s", self.command, self.path, traceback.format_exc())
            response = Response(500, errors.internal(traceback.format_exc(limit=3)).status())
        entry["status"] = response.code
        if entry["verb"] == "create" and entry["name"] is None and isinstance(response.body, dict):
            # A POST's path has no name: record the one it created (or would, in a dry run).
            entry["name"] = (response.body.get("metadata") or {}).get("name")
        app.log.record(entry)
        return self._send(response)

    def _answer(self, app, request, parts, entry):
        route, unrouted = None, errors.no_route()
        if routing.is_discovery(parts) and self.command == "GET":
            entry["verb"] = "discovery"
        elif parts[:1] in (["api"], ["apis"]):
            try:
                route = routing.resource_route(app.registry, parts)
            except ApiError as error:
                unrouted = error  # answered after authentication, like the real server
            else:
                resource = route.resource
                entry.update(verb=routing.verb(self.command, route), group=resource.group,
                             version=resource.version, plural=resource.plural, kind=resource.kind,
                             namespace=route.namespace, name=route.name, subresource=route.subresource)
        self._apply_fault(app.faults.take(entry))
        if app.token is not None and self.headers.get("Authorization") != "Bearer " + app.token:
            raise errors.unauthorized()
        if app.authorizer is not None and route is not None:
            app.authorizer.check(entry)
        if entry["verb"] == "discovery":
            return Response(200, discovery.document(app.registry, parts, "%s:%d" % self.server.server_address))
        if route is None:
            raise unrouted
        return app.api.handle(entry["verb"], request, route)

    def _apply_fault(self, fault):
        if fault is None:
            return
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            raise ConnectionDropped()
        if fault.status is not None:
            reason = errors.REASONS.get(fault.status, "InternalError")
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            raise ApiError(fault.status, reason, "injected fault (%s)" % reason, headers=headers)

    def _test_endpoint(self, app, parts):
        if parts == ["counts"] and self.command == "GET":
            return Response(200, app.counts())
        if parts == ["requests"] and self.command == "GET":
            return Response(200, app.requests)
        if parts == ["reset"] and self.command == "POST":
            app.reset_counts()
            return Response(200, {"reset": True})
        return Response(404, errors.no_route().status())

    def _send(self, response):
        if isinstance(response.body, (dict, list)):
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        else:
            payload = str(response.body).encode()
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(payload))),
                   ("Date", self.date_time_string())]
        headers += list(response.headers.items())
        headers += [("Warning", "299 - %s" % json.dumps(w)) for w in response.warnings]
        head = "HTTP/1.1 %d %s\r\n" % (response.code, self.responses.get(response.code, ("",))[0])
        head += "".join("%s: %s\r\n" % header for header in headers) + "\r\n"
        # One write for head and body: fewer syscalls and no partial packets.
        self.wfile.write(head.encode("latin-1") + payload)


class ConnectionDropped(Exception):
    """A fault that closes the connection without an answer."""
