"""The verify checks: which requests the client pod makes, the script it runs, what it prints."""
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.meshops.istio_egress.plugins.filter.egress import normalize_egress_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_checks import (
    VerifyError, checks, parse_client_log, script,
)

HOSTS = normalize_egress_hosts([
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 443, "protocol": "TLS"}, {"number": 80, "protocol": "HTTP"}]},
    {"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}], "addresses": ["203.0.113.7"],
     "resolution": "STATIC", "endpoints": [{"address": "203.0.113.7"}]},
    {"host": "mirror.example.com", "via_gateway": False, "ports": [{"number": 8443, "protocol": "HTTPS"}]},
    {"host": "*.wikipedia.org", "ports": [{"number": 443, "protocol": "TLS"}], "served_by": "www.wikipedia.org"},
])


def summary(result):
    return [(c["host"], c["port"], c["kind"], c["expect"], c["url"]) for c in result]


def test_one_check_per_host_and_port_then_the_negative_check():
    result = checks(HOSTS, negative_host="Example.COM")
    assert summary(result) == [
        ("httpbin.org", 80, "http", "gateway", "http://httpbin.org:80/"),
        ("edition.cnn.com", 80, "http", "gateway", "http://edition.cnn.com:80/"),
        ("edition.cnn.com", 443, "tls", "gateway", "https://edition.cnn.com:443/"),
        ("db.example.com", 5432, "skip", "gateway", None),
        ("mirror.example.com", 8443, "tls", "direct", "https://mirror.example.com:8443/"),
        ("*.wikipedia.org", 443, "skip", "gateway", None),
        ("example.com", 80, "http", "refused", "http://example.com:80/"),
    ]
    assert [c["id"] for c in result] == list(range(7))
    assert "TCP" in result[3]["reason"] and "wildcard" in result[5]["reason"]


@pytest.mark.parametrize("negative", ["", None])
def test_no_negative_check_when_not_asked(negative):
    assert [c["expect"] for c in checks(HOSTS[:1], negative_host=negative)] == ["gateway"]


@pytest.mark.parametrize("negative,error", [
    ("httpbin.org", "verify_negative_host: httpbin.org is declared in external_services_hosts (as httpbin.org)"),
    ("en.wikipedia.org", "verify_negative_host: en.wikipedia.org is declared in external_services_hosts (as *.wikipedia.org)"),
    ("bad host;rm", "is not a DNS name"),
])
def test_a_negative_host_that_is_declared_or_not_a_name_is_refused(negative, error):
    with pytest.raises(VerifyError, match=re.escape(error)):
        checks(HOSTS, negative_host=negative)


FAKE_CURL = """#!/bin/sh
# Stands in for curl: answers by URL, as a mesh would.
for arg; do url=$arg; done
case "$url" in
  *quitquitquit) echo "quit" >> "$QUIT_LOG"; exit 0 ;;
  http://httpbin.org:80/) printf ' code=200'; exit 0 ;;
  http://example.com:80/) printf ' code=502'; exit 0 ;;
  https://edition.cnn.com:443/) echo 'curl: (35) Recv failure: Connection reset by peer' >&2; printf ' code=000'; exit 35 ;;
  *) echo "curl: (6) Could not resolve host: x" >&2; printf ' code=000'; exit 6 ;;
esac
"""


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh")
def test_the_script_runs_under_sh_and_prints_one_readable_line_per_check(tmp_path):
    fake = tmp_path / "curl"
    fake.write_text(FAKE_CURL)
    fake.chmod(0o755)
    quit_log = tmp_path / "quit.log"
    env = dict(os.environ, PATH="{0}:{1}".format(tmp_path, os.environ["PATH"]), QUIT_LOG=str(quit_log))
    the_checks = checks(HOSTS, negative_host="example.com")
    proc = subprocess.run(["sh", "-c", script(the_checks, timeout=3)], env=env, capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr
    results = parse_client_log(proc.stdout)
    assert sorted(results) == [0, 1, 2, 4, 6]  # no request for the TCP port and the wildcard
    assert results[0] == {"host": "httpbin.org", "port": 80, "exit": 0, "code": 200, "detail": ""}
    assert results[2] == {"host": "edition.cnn.com", "port": 443, "exit": 35, "code": 0,
                          "detail": "curl: (35) Recv failure: Connection reset by peer"}
    assert results[6]["code"] == 502 and results[4]["exit"] == 6
    assert quit_log.read_text() == "quit\n"  # the sidecar is told to stop, after the checks


@pytest.mark.parametrize("timeout", [0, -5])
def test_script_refuses_a_timeout_below_one_second(timeout):
    with pytest.raises(VerifyError, match="verify_request_timeout must be at least 1"):
        script([], timeout)


@pytest.mark.parametrize("text,expected", [
    ("", {}),
    ("VERIFY id=3 host=a.example port=443 exit=0  code=301\n",
     {3: {"host": "a.example", "port": 443, "exit": 0, "code": 301, "detail": ""}}),
    ("noise\nVERIFY id=0 host=b.example port=80 exit=28 curl: (28) Connection timed out after 10001 milliseconds  code=000 \n",
     {0: {"host": "b.example", "port": 80, "exit": 28, "code": 0, "detail": "curl: (28) Connection timed out after 10001 milliseconds"}}),
    ("VERIFY id=1 host=c.example port=80 exit=7\n", {1: {"host": "c.example", "port": 80, "exit": 7, "code": 0, "detail": ""}}),
    ("VERIFY garbage\n", {}),
])
def test_parse_client_log(text, expected):
    assert parse_client_log(text) == expected
