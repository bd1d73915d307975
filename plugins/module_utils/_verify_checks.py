# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""What the verify role asks the client pod to do, and what the pod answered.

``checks`` turns a normalised host list into one request per host and port
(plus the negative check), ``script`` writes the POSIX sh the client pod runs,
and ``parse_client_log`` reads back the one ``VERIFY`` line per check it prints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

HTTP_PROTOCOLS = ("HTTP", "HTTP2", "GRPC")
TLS_PROTOCOLS = ("HTTPS", "TLS")
# curl's exit code when the name does not resolve: such a request proves nothing about the mesh.
CURL_RESOLVE_FAILED = 6

_LINE = re.compile(r"^VERIFY id=(\d+) host=(\S+) port=(\d+) exit=(\d+)(.*)$")
_CODE = re.compile(r"\bcode=(\d{3})\b")


class VerifyError(ValueError):
    pass


def _wildcard_covers(pattern, host):
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def _check(index, host, port, protocol, expect):
    kind = "http" if protocol in HTTP_PROTOCOLS else "tls" if protocol in TLS_PROTOCOLS else "skip"
    check = {"id": index, "host": host, "port": port, "protocol": protocol, "kind": kind, "expect": expect,
             "url": None, "reason": None}
    if host.startswith("*."):
        check.update(kind="skip", reason="wildcard: no single name to request")
    elif kind == "skip":
        check["reason"] = "{0}: the client cannot tell a refused connection from an accepted one".format(protocol)
    else:
        # https:// makes curl send the SNI; the handshake through the sidecar and the gateway is the proof.
        check["url"] = "{0}://{1}:{2}/".format("http" if kind == "http" else "https", host, port)
    return check


def checks(hosts, negative_host=None, negative_port=80):
    """One check per host and port of normalised ``hosts``; then the negative
    check (an undeclared host that REGISTRY_ONLY must refuse) when asked."""
    result = []
    for item in hosts:
        expect = "gateway" if item["via_gateway"] else "direct"
        for port in item["ports"]:
            result.append(_check(len(result), item["host"], port["number"], port["protocol"], expect))
    if negative_host:
        negative_host = str(negative_host).strip().lower()
        declared = [item["host"] for item in hosts
                    if item["host"] == negative_host or _wildcard_covers(item["host"], negative_host)]
        if declared:
            raise VerifyError("verify_negative_host: {0} is declared in external_services_hosts (as {1}); name a host that is "
                              "not, or set it to an empty string to skip the negative check".format(negative_host, declared[0]))
        if not re.match(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", negative_host):
            raise VerifyError("verify_negative_host: {0!r} is not a DNS name".format(negative_host))
        result.append(_check(len(result), negative_host, int(negative_port), "HTTP", "refused"))
    return result


_PRELUDE = """\
# Written by meshops.istio_egress.egress_verify_script: one request per check,
# one line each: VERIFY id=<n> host=<host> port=<port> exit=<curl exit code> code=<HTTP status> <curl's error>.
t={timeout}
check() {{
  out=$(curl -sS -o /dev/null --max-time "$t" -w ' code=%{{http_code}}' "$4" 2>&1)
  rc=$?
  echo "VERIFY id=$1 host=$2 port=$3 exit=$rc $(printf '%s' "$out" | tr '\\n' ' ')"
}}
"""

# An injected sidecar keeps running after this container exits, so the Pod would never
# complete: ask pilot-agent to stop it. Where the sidecar is a native sidecar (an init
# container) the Pod completes by itself and this call is harmless.
_QUIT = "curl -fsS -o /dev/null -X POST http://127.0.0.1:15020/quitquitquit || true\n"


def script(checks_, timeout=10):
    """The client pod's POSIX sh script (host names are validated DNS names)."""
    timeout = int(timeout)
    if timeout < 1:
        raise VerifyError("verify_request_timeout must be at least 1 second, got {0}".format(timeout))
    lines = [_PRELUDE.format(timeout=timeout)]
    for check in checks_:
        if check["url"]:
            lines.append("check {0} {1} {2} '{3}'\n".format(check["id"], check["host"], check["port"], check["url"]))
    lines.append(_QUIT)
    return "".join(lines)


def parse_client_log(text):
    """``{check id: {exit, code, detail}}`` from the client pod's log; other lines are ignored."""
    results = {}
    for line in (text or "").splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        rest = match.group(5)
        code = _CODE.search(rest)
        detail = " ".join(_CODE.sub("", rest).split())
        results[int(match.group(1))] = {
            "host": match.group(2), "port": int(match.group(3)), "exit": int(match.group(4)),
            "code": int(code.group(1)) if code else 0, "detail": detail,
        }
    return results
