# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Read Envoy access log lines as Istio writes them, and the mesh's access log settings.

Istio's default TEXT format (meshConfig.accessLogFormat unset) is::

  [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
  %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED%
  %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
  "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%
  %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%

Older Istio releases lack the three fields after RESPONSE_FLAGS, so the parser
reads the fields it needs by their place relative to the request line and to
the last two quoted fields (authority, upstream host), which all releases
share. ``accessLogEncoding: JSON`` lines are read by key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from datetime import datetime, timedelta, timezone

try:
    import yaml
except ImportError:  # the filter reports it
    yaml = None

_TOKEN = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$")
_TAIL = ("upstream_cluster", "upstream_local_address", "downstream_local_address", "downstream_remote_address",
         "requested_server_name", "route_name")
# Files whose lines end up in the container's log, which the check reads.
CONTAINER_LOG_FILES = ("/dev/stdout", "/dev/stderr")
_JSON_KEYS = ("start_time", "method", "protocol", "response_code", "response_flags", "authority", "upstream_host",
              "upstream_cluster", "downstream_remote_address", "requested_server_name")


def parse_time(value):
    """An aware UTC datetime from Envoy's START_TIME or a Kubernetes timestamp; None if unreadable."""
    match = _TIME.match(str(value or "").strip().strip("[]"))
    if not match:
        return None
    moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    if match.group(2):
        moment += timedelta(microseconds=int(match.group(2)[:6].ljust(6, "0")))
    offset = match.group(3)
    delta = timedelta(0)
    if offset and offset != "Z":
        digits = offset.replace(":", "")
        delta = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        delta = -delta if digits[0] == "+" else delta
    return (moment + delta).replace(tzinfo=timezone.utc)


def _dash(value):
    value = None if value is None else str(value)
    return None if value in (None, "", "-") else value


def _code(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _entry(fields):
    entry = dict((key, _dash(fields.get(key))) for key in _JSON_KEYS)
    entry["response_code"] = _code(fields.get("response_code"))
    return entry


def _parse_json(line):
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return _entry(data) if isinstance(data, dict) else None


def _parse_text(line):
    tokens = _TOKEN.findall(line)
    if len(tokens) < 3 or not (tokens[0].startswith("[") and tokens[1].startswith('"')):
        return None
    quoted = [i for i, token in enumerate(tokens) if token.startswith('"')]
    if len(quoted) < 3 or len(tokens) - quoted[-1] - 1 < len(_TAIL):
        return None
    request = tokens[1].strip('"').split(" ")
    fields = dict(zip(_TAIL, tokens[quoted[-1] + 1:]))
    fields.update(start_time=tokens[0].strip("[]"), method=request[0], response_code=tokens[2],
                  response_flags=tokens[3] if len(tokens) > 3 else None,
                  protocol=request[2] if len(request) > 2 else None,
                  authority=tokens[quoted[-2]][1:-1], upstream_host=tokens[quoted[-1]][1:-1])
    return _entry(fields)


def parse_line(line):
    """One access log entry as a dict (None for any other line): start_time,
    method, protocol, response_code (int; 0 for TCP), response_flags,
    authority, upstream_host, upstream_cluster, downstream_remote_address,
    requested_server_name; "-" fields are None."""
    line = (line or "").strip()
    if line.startswith("{"):
        return _parse_json(line)
    if line.startswith("["):
        return _parse_text(line)
    return None


def parse_log(text, pod=None):
    """(entries, number of lines that looked like access log lines but could not be read)."""
    entries, unreadable = [], 0
    for line in (text or "").splitlines():
        entry = parse_line(line)
        if entry is None:
            if line.strip().startswith("[") and '"' in line:
                unreadable += 1
            continue
        entry["pod"] = pod
        entries.append(entry)
    return entries, unreadable


def mesh_access_log(mesh_yaml, source="mesh config"):
    """The mesh's access log settings from the ``mesh`` key of the istio ConfigMap:
    ``{enabled, readable, file, encoding, custom_format, outbound_mode, message, note}``;
    ``message`` says why the check cannot work, ``note`` what may limit it."""
    settings = {}
    if mesh_yaml is not None and str(mesh_yaml).strip():
        try:
            settings = yaml.safe_load(str(mesh_yaml)) or {}
        except yaml.YAMLError as exc:
            raise ValueError("{0}: the 'mesh' value is not valid YAML: {1}".format(source, exc))
        if not isinstance(settings, dict):
            raise ValueError("{0}: the 'mesh' value must be a YAML mapping, got {1}".format(source, type(settings).__name__))
    path = str(settings.get("accessLogFile") or "").strip()
    result = {"enabled": bool(path), "readable": path in CONTAINER_LOG_FILES, "file": path,
              "encoding": str(settings.get("accessLogEncoding") or "TEXT").upper(),
              "custom_format": bool(str(settings.get("accessLogFormat") or "").strip()), "message": None, "note": None,
              "outbound_mode": (settings.get("outboundTrafficPolicy") or {}).get("mode") or "ALLOW_ANY (unset)"}
    if not path:
        result["message"] = (
            "Access logging is off in the mesh: {0} has no meshConfig.accessLogFile, so the egress gateway writes no "
            "access log line to check. Turn it on (meshConfig.accessLogFile: /dev/stdout, e.g. istioctl install --set "
            "meshConfig.accessLogFile=/dev/stdout, or the Helm value meshConfig.accessLogFile), or, when the Telemetry API "
            "turns it on for the gateway, set verify_access_log_check: false. Nothing was created.".format(source))
    elif not result["readable"]:
        result["message"] = (
            "{0}: meshConfig.accessLogFile is {1}, so the gateway's access log is not in its container log, which is what "
            "this check reads: set it to /dev/stdout. Nothing was created.".format(source, path))
    elif result["custom_format"] and result["encoding"] != "JSON":
        result["note"] = ("{0}: meshConfig.accessLogFormat is set; lines not in Istio's default field order cannot be "
                          "read and are counted as unreadable.".format(source))
    return result
