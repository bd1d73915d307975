"""Envoy access log lines as Istio's egress gateway writes them, read by verify_access_log."""
from datetime import datetime, timezone

import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_access_log import (
    mesh_access_log, parse_line, parse_log, parse_time,
)

# Istio >= 1.9 default TEXT format: HTTP through the gateway (mutual TLS from the sidecar, so an SNI too).
HTTP_LINE = ('[2026-11-21T05:30:01.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 9593 45 44 "10.244.1.7" '
             '"curl/8.11.1" "3c1c4f0a-5a4e-9d8b-a7b2-1f7d5c0e2f11" "httpbin.org" "34.227.213.82:80" '
             'outbound|80||httpbin.org 10.244.2.5:40618 10.244.2.5:8080 10.244.1.7:51234 httpbin.org -')
# TLS passed through: a TCP proxy line, the host only in the SNI.
TLS_LINE = ('[2026-11-21T05:30:02.456Z] "- - -" 0 - - - "-" 839 5432 120 - "-" "-" "-" "-" "140.82.112.6:443" '
            'outbound|443||api.github.com 10.244.2.5:53314 10.244.2.5:8443 10.244.1.7:40120 api.github.com -')
# Istio 1.3's format (from its egress gateway task): a quoted mixer status, no response code details.
OLD_LINE = ('[2019-09-03T20:57:49.103Z] "GET /politics HTTP/2" 301 - "-" "-" 0 0 90 89 "10.244.2.10" "curl/7.64.0" '
            '"ea379962-9b5c-4431-ab66-f01994f5a5a5" "edition.cnn.com" "151.101.65.67:80" outbound|80||edition.cnn.com - '
            '10.244.1.5:80 10.244.2.10:50482 edition.cnn.com -')
# The gateway could not reach the host.
UF_LINE = ('[2026-11-21T05:30:03.000Z] "GET / HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure} - '
           '"-" 0 91 10004 - "10.244.1.7" "curl/8.11.1" "9d2c" "edition.cnn.com" "151.101.3.5:80" '
           'outbound|80||edition.cnn.com - 10.244.2.5:8080 10.244.1.7:51240 edition.cnn.com -')
JSON_LINE = ('{"start_time":"2026-11-21T05:30:04.000Z","method":"GET","path":"/","protocol":"HTTP/1.1","response_code":200,'
             '"response_flags":"-","authority":"httpbin.org","upstream_host":"34.227.213.82:80",'
             '"upstream_cluster":"outbound|80||httpbin.org","downstream_remote_address":"10.244.1.7:51300",'
             '"requested_server_name":"-","route_name":"default"}')


@pytest.mark.parametrize("line,expected", [
    (HTTP_LINE, {"method": "GET", "protocol": "HTTP/1.1", "response_code": 200, "response_flags": None,
                 "authority": "httpbin.org", "upstream_host": "34.227.213.82:80", "upstream_cluster": "outbound|80||httpbin.org",
                 "downstream_remote_address": "10.244.1.7:51234", "requested_server_name": "httpbin.org",
                 "start_time": "2026-11-21T05:30:01.123Z"}),
    (TLS_LINE, {"method": None, "protocol": None, "response_code": 0, "response_flags": None, "authority": None,
                "upstream_host": "140.82.112.6:443", "upstream_cluster": "outbound|443||api.github.com",
                "downstream_remote_address": "10.244.1.7:40120", "requested_server_name": "api.github.com"}),
    (OLD_LINE, {"method": "GET", "protocol": "HTTP/2", "response_code": 301, "authority": "edition.cnn.com",
                "upstream_host": "151.101.65.67:80", "downstream_remote_address": "10.244.2.10:50482",
                "requested_server_name": "edition.cnn.com"}),
    (UF_LINE, {"response_code": 503, "response_flags": "UF", "authority": "edition.cnn.com", "upstream_host": "151.101.3.5:80"}),
    (JSON_LINE, {"method": "GET", "response_code": 200, "response_flags": None, "authority": "httpbin.org",
                 "requested_server_name": None, "downstream_remote_address": "10.244.1.7:51300"}),
])
def test_parse_line(line, expected):
    entry = parse_line(line)
    assert {key: entry[key] for key in expected} == expected


@pytest.mark.parametrize("line", [
    "",
    "2026-11-21T05:29:00.000000Z\tinfo\tEnvoy proxy is ready",
    '[2026-11-21T05:30:01.123Z] "GET / HTTP/1.1" 200',  # truncated
    "{not json",
    "[1, 2]",
])
def test_other_lines_are_not_entries(line):
    assert parse_line(line) is None


def test_parse_log_keeps_the_pod_and_counts_unreadable_access_lines():
    text = "\n".join(["2026-11-21T05:29:00.000000Z\tinfo\tready", HTTP_LINE, '[2026-11-21T05:30:01Z] "GET / HTTP/1.1" 200 -', TLS_LINE])
    entries, unreadable = parse_log(text, pod="istio-egressgateway-abc")
    assert [e["requested_server_name"] for e in entries] == ["httpbin.org", "api.github.com"]
    assert {e["pod"] for e in entries} == {"istio-egressgateway-abc"}
    assert unreadable == 1


@pytest.mark.parametrize("value,expected", [
    ("2026-11-21T05:30:01.123Z", datetime(2026, 11, 21, 5, 30, 1, 123000, tzinfo=timezone.utc)),
    ("[2026-11-21T05:30:01.123Z]", datetime(2026, 11, 21, 5, 30, 1, 123000, tzinfo=timezone.utc)),
    ("2026-11-21T05:30:01Z", datetime(2026, 11, 21, 5, 30, 1, tzinfo=timezone.utc)),
    ("2026-11-21T07:30:01.5+02:00", datetime(2026, 11, 21, 5, 30, 1, 500000, tzinfo=timezone.utc)),
    ("2026-11-21T03:30:01-0200", datetime(2026, 11, 21, 5, 30, 1, tzinfo=timezone.utc)),
    ("2026-11-21T05:30:01.123456789Z", datetime(2026, 11, 21, 5, 30, 1, 123456, tzinfo=timezone.utc)),
    ("yesterday", None),
    (None, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


MESH_ON = "accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"


@pytest.mark.parametrize("mesh,enabled,readable,message,note", [
    (MESH_ON, True, True, None, None),
    ("accessLogFile: /dev/stderr\n", True, True, None, None),
    ("rootNamespace: istio-system\n", False, False, "Access logging is off in the mesh: ConfigMap istio-system/istio", None),
    ('accessLogFile: ""\n', False, False, "has no meshConfig.accessLogFile", None),
    ("", False, False, "Access logging is off", None),
    ("accessLogFile: /var/log/envoy.log\n", True, False, "is /var/log/envoy.log", None),
    ("accessLogFile: /dev/stdout\naccessLogFormat: '%START_TIME% %UPSTREAM_HOST%'\n", True, True, None, "accessLogFormat is set"),
    ("accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{}'\n", True, True, None, None),
])
def test_mesh_access_log(mesh, enabled, readable, message, note):
    result = mesh_access_log(mesh, "ConfigMap istio-system/istio")
    assert (result["enabled"], result["readable"]) == (enabled, readable)
    assert (result["message"] is None) if message is None else (message in result["message"])
    assert (result["note"] is None) if note is None else (note in result["note"])


@pytest.mark.parametrize("mesh,mode", [(MESH_ON, "REGISTRY_ONLY"), ("accessLogFile: /dev/stdout\n", "ALLOW_ANY (unset)")])
def test_mesh_access_log_reports_the_outbound_mode(mesh, mode):
    assert mesh_access_log(mesh)["outbound_mode"] == mode


@pytest.mark.parametrize("mesh,error", [("a: [", "is not valid YAML"), ("- a\n", "must be a YAML mapping")])
def test_mesh_access_log_refuses_a_broken_mesh_config(mesh, error):
    with pytest.raises(ValueError, match="ConfigMap istio-system/istio: the 'mesh' value " + error):
        mesh_access_log(mesh, "ConfigMap istio-system/istio")
