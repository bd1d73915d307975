# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Match the client pod's requests to the egress gateway's access log and give each a verdict.

A declared host's port is verified when the client's request got an answer and
the gateway logged it (same host, same port, after the client pod was created,
from the client pod's IP) with no Envoy failure flag: the traffic left through
the gateway. A host with ``via_gateway: false`` is verified when it answered
and the gateway did not see it. The negative check passes when the undeclared
host was refused and the gateway did not see it either.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_access_log import parse_time
from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_checks import CURL_RESOLVE_FAILED

# What Istio's sidecar answers for a host REGISTRY_ONLY does not know (BlackHoleCluster).
BLACKHOLE_CODE = 502
COLUMNS = (("host", "host"), ("port", "port"), ("request", "request"), ("at gateway", "at_gateway"),
           ("upstream", "upstream"), ("verdict", "verdict"))


def _split_host_port(value, default_port):
    value = (value or "").lower()
    if value.startswith("["):  # [IPv6]:port
        host, _sep, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest[1:].isdigit() else default_port
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return value, default_port


def _cluster(value):
    """(port, host) of an ``outbound|443||edition.cnn.com`` cluster name; (None, None) otherwise."""
    parts = (value or "").split("|")
    if len(parts) == 4 and parts[1].isdigit():
        return int(parts[1]), parts[3].lower()
    return None, None


def _ip(address):
    return _split_host_port(address, None)[0] if address else None


def matches(check, entry, since=None, client_ip=None):
    """Whether a gateway access log entry is this check's request."""
    if since is not None:
        started = parse_time(entry.get("start_time"))
        if started is None or started < since:
            return False
    if client_ip and entry.get("downstream_remote_address") and _ip(entry["downstream_remote_address"]) != client_ip:
        return False
    host, port = check["host"], check["port"]
    cluster_port, cluster_host = _cluster(entry.get("upstream_cluster"))
    if check["expect"] == "refused":  # any trace of the undeclared host counts
        return host in (_split_host_port(entry.get("authority"), None)[0], (entry.get("requested_server_name") or "").lower(),
                        cluster_host)
    if check["kind"] == "http":
        return entry.get("method") is not None and _split_host_port(entry.get("authority"), 80) == (host, port)
    # TLS passed through: a TCP proxy line (no method) naming the host in its SNI.
    return (entry.get("method") is None and (entry.get("requested_server_name") or "").lower() == host
            and cluster_port in (None, port))


def _request_text(check, result):
    if result is None:
        return "no result"
    if result["exit"] == 0 and result["code"]:
        return ("HTTP {0}" if check["kind"] == "http" else "TLS ok, HTTP {0}").format(result["code"])
    detail = result["detail"] or "curl exit {0}".format(result["exit"])
    return "failed: " + (detail if len(detail) <= 60 else detail[:57] + "...")


def _verdict(check, result, evidence):
    """(verified: True/False, verdict text)."""
    answered = result is not None and result["exit"] == 0 and result["code"] > 0
    if result is None:
        return False, "NOT VERIFIED: no result from the client pod"
    if check["expect"] == "refused":
        if result["exit"] == CURL_RESOLVE_FAILED:
            return False, "INCONCLUSIVE: the name does not resolve; set verify_negative_host to one that does"
        if evidence is not None:
            return False, "NOT REFUSED: the egress gateway forwarded it"
        if answered and result["code"] != BLACKHOLE_CODE:
            return False, "NOT REFUSED: it answered HTTP {0} (is outboundTrafficPolicy REGISTRY_ONLY?)".format(result["code"])
        return True, "refused, as expected"
    if not answered:
        return False, "NOT VERIFIED: the request failed"
    if check["expect"] == "direct":
        if evidence is not None:
            return False, "NOT VERIFIED: went through the egress gateway, but via_gateway is false"
        return True, "verified (direct, via_gateway: false)"
    if evidence is None:
        return False, "NOT VERIFIED: not in the egress gateway's access log"
    if evidence.get("response_flags"):
        return False, "NOT VERIFIED: the egress gateway could not forward it (flags {0})".format(evidence["response_flags"])
    return True, "verified"


def _row(check, result, entries, since, client_ip):
    row = {"host": check["host"], "port": check["port"], "protocol": check["protocol"], "expect": check["expect"],
           "request": "not sent", "at_gateway": "-", "upstream": "-", "verified": None, "evidence": None}
    if check["expect"] == "refused":
        row["host"] = check["host"] + " (undeclared)"
    if check["kind"] == "skip":
        row["verdict"] = "not checked: " + check["reason"]
        return row
    evidence = next((e for e in entries if matches(check, e, since, client_ip)), None)
    row["verified"], row["verdict"] = _verdict(check, result, evidence)
    row.update(request=_request_text(check, result), at_gateway="no" if evidence is None else "yes",
               upstream=(evidence or {}).get("upstream_host") or "-", evidence=evidence)
    return row


def table(rows):
    """The rows as aligned text lines, a header first."""
    cells = [[title for title, _key in COLUMNS]] + [[str(row[key]) for _title, key in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return lines


def report(checks, client_results, entries, since=None, client_ip=None, unreadable=0):
    """The verdicts: ``{rows, table, verified, failures, summary, unreadable_lines}``.

    ``client_results`` as verify_checks.parse_client_log returns it, ``entries``
    the gateway's parsed access log entries, ``since`` an aware datetime (lines
    before it are older requests), ``client_ip`` the client pod's IP."""
    rows = [_row(check, client_results.get(check["id"]), entries, since, client_ip) for check in checks]
    failed = [row for row in rows if row["verified"] is False]
    declared = [row for row in rows if row["expect"] != "refused"]
    checked = [row for row in declared if row["verified"] is not None]
    parts = ["{0} of {1} declared host ports verified".format(sum(1 for row in checked if row["verified"]), len(checked))]
    if len(checked) < len(declared):
        parts.append("{0} not checked".format(len(declared) - len(checked)))
    negative = [row for row in rows if row["expect"] == "refused"]
    if negative:
        parts.append("undeclared host {0}".format("refused" if negative[0]["verified"] else "NOT shown refused"))
    if unreadable:
        parts.append("{0} gateway log line(s) not readable".format(unreadable))
    return {
        "rows": rows, "table": table(rows), "verified": not failed, "unreadable_lines": unreadable,
        "failures": ["{0}:{1} - {2}".format(row["host"], row["port"], row["verdict"]) for row in failed],
        "summary": "; ".join(parts),
    }
