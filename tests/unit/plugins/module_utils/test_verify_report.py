"""Verdicts: the client's results against the egress gateway's access log."""
from datetime import datetime, timezone

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.filter.verify import FilterModule
from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_access_log import parse_line
from ansible_collections.meshops.istio_egress.plugins.module_utils._verify_report import matches, report, table

FILTERS = FilterModule().filters()
SINCE = datetime(2026, 11, 21, 5, 30, 0, tzinfo=timezone.utc)
CLIENT_IP = "10.244.1.7"


def check(host, port, kind="http", expect="gateway", protocol=None, index=0):
    return {"id": index, "host": host, "port": port, "kind": kind, "expect": expect, "url": "x", "reason": None,
            "protocol": protocol or ("HTTP" if kind == "http" else "TLS")}


def http_line(authority, when="05:30:01.123", code=200, flags="-", client=CLIENT_IP, cluster_port=80, upstream="34.227.213.82:80"):
    host = authority.split(":")[0]
    return parse_line(
        '[2026-11-21T{0}Z] "GET / HTTP/1.1" {1} {2} via_upstream - "-" 0 9593 45 44 "{3}" "curl/8.11.1" "3c1c" "{4}" '
        '"{5}" outbound|{6}||{7} 10.244.2.5:40618 10.244.2.5:8080 {3}:51234 {7} -'.format(
            when, code, flags, client, authority, upstream, cluster_port, host))


def tls_line(sni, when="05:30:02.456", cluster_port=443, client=CLIENT_IP):
    return parse_line(
        '[2026-11-21T{0}Z] "- - -" 0 - - - "-" 839 5432 120 - "-" "-" "-" "-" "140.82.112.6:{1}" outbound|{1}||{2} '
        '10.244.2.5:53314 10.244.2.5:8443 {3}:40120 {2} -'.format(when, cluster_port, sni, client))


@pytest.mark.parametrize("the_check,entry,expected", [
    (check("httpbin.org", 80), http_line("httpbin.org"), True),
    (check("httpbin.org", 80), http_line("HTTPBIN.org:80"), True),
    (check("httpbin.org", 8080), http_line("httpbin.org:8080", cluster_port=8080), True),
    (check("httpbin.org", 8080), http_line("httpbin.org"), False),  # another port of the host
    (check("httpbin.org", 80), http_line("httpbin.org", when="05:29:59.999"), False),  # before the client pod
    (check("httpbin.org", 80), http_line("httpbin.org", client="10.244.3.3"), False),  # another pod's request
    (check("httpbin.org", 80), http_line("other.org"), False),
    (check("httpbin.org", 80), tls_line("httpbin.org", cluster_port=80), False),  # not an HTTP line
    (check("api.github.com", 443, "tls"), tls_line("api.github.com"), True),
    (check("api.github.com", 443, "tls"), tls_line("api.github.com", cluster_port=8443), False),
    (check("api.github.com", 443, "tls"), http_line("api.github.com"), False),  # HTTP line with that SNI (mutual TLS)
    (check("api.github.com", 443, "tls"), tls_line("github.com"), False),
    (check("example.com", 80, expect="refused"), tls_line("example.com"), True),
    (check("example.com", 80, expect="refused"), http_line("example.com:8080"), True),
])
def test_matches(the_check, entry, expected):
    assert matches(the_check, entry, SINCE, CLIENT_IP) is expected


def test_matches_without_time_or_ip_takes_any_line_of_the_host():
    assert matches(check("httpbin.org", 80), http_line("httpbin.org", when="01:00:00", client="10.0.0.9"))


def result(code=200, exit_code=0, detail=""):
    return {"exit": exit_code, "code": code, "detail": detail}


CASES = [
    # id, check, client result, gateway entries, verified, verdict starts with, request, at gateway
    ("http-ok", check("httpbin.org", 80), result(), [http_line("httpbin.org")], True, "verified", "HTTP 200", "yes"),
    ("tls-ok", check("api.github.com", 443, "tls"), result(301), [tls_line("api.github.com")], True, "verified",
     "TLS ok, HTTP 301", "yes"),
    ("missing-at-gateway", check("httpbin.org", 80), result(), [http_line("other.org")], False,
     "NOT VERIFIED: not in the egress gateway's access log", "HTTP 200", "no"),
    ("old-line-only", check("httpbin.org", 80), result(), [http_line("httpbin.org", when="05:00:00")], False,
     "NOT VERIFIED: not in", "HTTP 200", "no"),
    ("request-failed", check("api.github.com", 443, "tls"), result(0, 35, "curl: (35) Recv failure: Connection reset by peer"),
     [], False, "NOT VERIFIED: the request failed", "failed: curl: (35) Recv failure: Connection reset by peer", "no"),
    ("gateway-flag", check("edition.cnn.com", 80), result(503), [http_line("edition.cnn.com", code=503, flags="UF")], False,
     "NOT VERIFIED: the egress gateway could not forward it (flags UF)", "HTTP 503", "yes"),
    ("no-client-line", check("httpbin.org", 80), None, [http_line("httpbin.org")], False,
     "NOT VERIFIED: no result from the client pod", "no result", "yes"),
    ("direct-ok", check("mirror.example.com", 8443, "tls", "direct"), result(), [], True, "verified (direct", "TLS ok, HTTP 200", "no"),
    ("direct-via-gateway", check("mirror.example.com", 8443, "tls", "direct"), result(),
     [tls_line("mirror.example.com", cluster_port=8443)], False, "NOT VERIFIED: went through the egress gateway", "TLS ok, HTTP 200", "yes"),
    ("negative-blackhole", check("example.com", 80, expect="refused"), result(502), [], True, "refused, as expected", "HTTP 502", "no"),
    ("negative-reset", check("example.com", 80, expect="refused"), result(0, 56, "curl: (56) Recv failure"), [], True,
     "refused", "failed: curl: (56) Recv failure", "no"),
    ("negative-answered", check("example.com", 80, expect="refused"), result(200), [], False,
     "NOT REFUSED: it answered HTTP 200 (is outboundTrafficPolicy REGISTRY_ONLY?)", "HTTP 200", "no"),
    ("negative-at-gateway", check("example.com", 80, expect="refused"), result(502), [http_line("example.com")], False,
     "NOT REFUSED: the egress gateway forwarded it", "HTTP 502", "yes"),
    ("negative-no-dns", check("nowhere.example", 80, expect="refused"), result(0, 6, "curl: (6) Could not resolve host"), [], False,
     "INCONCLUSIVE: the name does not resolve", "failed: curl: (6) Could not resolve host", "no"),
]


@pytest.mark.parametrize("the_check,client,entries,verified,verdict,request_text,at_gateway",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_verdicts(the_check, client, entries, verified, verdict, request_text, at_gateway):
    outcome = report([the_check], {0: client} if client else {}, entries, SINCE, CLIENT_IP)
    [row] = outcome["rows"]
    assert (row["verified"], row["request"], row["at_gateway"]) == (verified, request_text, at_gateway)
    assert row["verdict"].startswith(verdict)
    assert outcome["verified"] is verified
    assert outcome["failures"] == ([] if verified else ["{0}:{1} - {2}".format(row["host"], row["port"], row["verdict"])])


def test_a_long_curl_error_is_shortened_in_the_table():
    outcome = report([check("a.example", 80)], {0: result(0, 28, "curl: (28) " + "x" * 100)}, [], SINCE)
    assert len(outcome["rows"][0]["request"]) == len("failed: ") + 60 and outcome["rows"][0]["request"].endswith("...")


def test_skipped_checks_do_not_fail_and_are_counted_in_the_summary():
    skipped = dict(check("db.example.com", 5432, protocol="TCP"), kind="skip", reason="TCP: not checked", url=None)
    outcome = report([check("httpbin.org", 80), dict(skipped, id=1)], {0: result()}, [http_line("httpbin.org")], SINCE)
    assert outcome["verified"] is True
    assert outcome["rows"][1]["verdict"] == "not checked: TCP: not checked" and outcome["rows"][1]["verified"] is None
    assert outcome["summary"] == "1 of 1 declared host ports verified; 1 not checked"


def test_the_table_has_a_header_and_one_aligned_line_per_row():
    checks = [check("httpbin.org", 80), check("api.github.com", 443, "tls", index=1),
              check("example.com", 80, expect="refused", index=2)]
    outcome = report(checks, {0: result(), 1: result(0, 35, "curl: (35) reset"), 2: result(502)},
                     [http_line("httpbin.org"), tls_line("api.github.com")], SINCE, CLIENT_IP)
    lines = outcome["table"]
    assert [cell.strip() for cell in lines[0].split("|")] == ["host", "port", "request", "at gateway", "upstream", "verdict"]
    assert set(lines[1]) <= {"-", "+"}
    assert len(lines) == 5 and len({line.index("|") for line in lines[2:]} | {lines[0].index("|")}) == 1
    assert [cell.strip() for cell in lines[2].split("|")] == ["httpbin.org", "80", "HTTP 200", "yes", "34.227.213.82:80", "verified"]
    assert lines[3].split("|")[-1].strip() == "NOT VERIFIED: the request failed"
    assert lines[4].startswith("example.com (undeclared)") and lines[4].endswith("refused, as expected")
    assert outcome["summary"] == "1 of 2 declared host ports verified; undeclared host refused"
    assert outcome["failures"] == ["api.github.com:443 - NOT VERIFIED: the request failed"]


def test_table_of_nothing_is_the_header():
    assert len(table([])) == 2


def test_filter_reads_k8s_log_loop_results_and_the_client_log():
    checks = FILTERS["egress_verify_checks"](
        FILTERS_NORMALIZED, negative_host="example.com")
    client_log = "VERIFY id=0 host=httpbin.org port=80 exit=0  code=200\nVERIFY id=1 host=example.com port=80 exit=0  code=502\n"
    gateway = '[2026-11-21T05:30:01.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 3 "-" "curl" "r" "httpbin.org" ' \
              '"1.2.3.4:80" outbound|80||httpbin.org - 10.244.2.5:8080 10.244.1.7:5000 httpbin.org -\nnot an access line\n'
    loop_results = [{"log": gateway, "item": {"metadata": {"name": "istio-egressgateway-1"}}}, {"log": "", "pod": "istio-egressgateway-2"}]
    outcome = FILTERS["egress_verify_report"](checks, client_log, loop_results, since="2026-11-21T05:30:00Z", client_ip="10.244.1.7")
    assert outcome["verified"] is True
    assert outcome["rows"][0]["evidence"]["pod"] == "istio-egressgateway-1"


FILTERS_NORMALIZED = [{"host": "httpbin.org", "ports": [{"number": 80, "protocol": "HTTP"}], "via_gateway": True}]


def test_filter_refuses_an_unreadable_since_and_raw_hosts():
    with pytest.raises(AnsibleFilterError, match="since must be a timestamp"):
        FILTERS["egress_verify_report"]([], "", [], since="last tuesday")
    with pytest.raises(AnsibleFilterError, match="normalize_egress_hosts first"):
        FILTERS["egress_verify_checks"]([{"host": "httpbin.org"}])
