"""validate_hosts / normalize_hosts: what a user sees for a wrong host list,
and what rendering gets for a right one."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils.hosts import (
    normalize_hosts,
    validate_hosts,
)

VAR = "external_services_hosts"
OK = {"host": "httpbin.org"}
LONG_LABEL = "a" * 64


def _errors_at(errors, index):
    prefix = "{0}[{1}]".format(VAR, index)
    return [e for e in errors if e.startswith(prefix + " ") or e.startswith(prefix + ":")]


# (case id, the bad item, the field the error names, a fragment of the explanation)
# Each bad item is placed at index 1, after a valid one, so the index is checked too.
INVALID_ITEMS = [
    ("host-missing", {"ports": [{"number": 80, "protocol": "HTTP"}]}, "host", "required"),
    ("host-not-string", {"host": 42}, "host", "must be a DNS name"),
    ("host-empty", {"host": ""}, "host", "not a valid DNS name"),
    ("host-double-dot", {"host": "api..github.com"}, "host", "is not a valid DNS name (RFC 1123"),
    ("host-leading-dash", {"host": "-api.github.com"}, "host", "not a valid DNS name"),
    ("host-trailing-dash", {"host": "api-.github.com"}, "host", "not a valid DNS name"),
    ("host-underscore", {"host": "my_api.example.com"}, "host", "not a valid DNS name"),
    ("host-space", {"host": "api .example.com"}, "host", "not a valid DNS name"),
    ("host-url", {"host": "https://api.example.com"}, "host", "not a valid DNS name"),
    ("host-label-64", {"host": LONG_LABEL + ".com"}, "host", "1-63 chars"),
    ("host-254-chars", {"host": ".".join(["a" * 63] * 4)[:250] + ".com"}, "host", "at most 253"),
    ("host-trailing-dot", {"host": "api.github.com."}, "host", "drop the trailing '.'"),
    ("host-ipv4", {"host": "10.1.2.3"}, "host", "list the IP under 'addresses'"),
    ("host-ipv6", {"host": "2001:db8::1"}, "host", "'addresses'"),
    ("host-cidr", {"host": "10.0.0.0/8"}, "host", "'addresses'"),
    ("host-bare-star", {"host": "*", "resolution": "DYNAMIC_DNS"}, "host", "bare '*'"),
    ("host-star-middle", {"host": "api.*.com", "resolution": "DYNAMIC_DNS"}, "host", "leading '*.'"),
    ("host-star-glued", {"host": "*api.com", "resolution": "DYNAMIC_DNS"}, "host", "leading '*.'"),
    ("host-star-tld", {"host": "*.com", "resolution": "DYNAMIC_DNS"}, "host", "2 or more labels"),
    ("unknown-key-suggests", {"host": "a.example.com", "gateway": False}, "gateway",
     "did you mean 'via_gateway'?"),
    ("unknown-key-lists-allowed", {"host": "a.example.com", "port": 80}, "port", "allowed keys: addresses"),
    ("ports-not-list", {"host": "a.example.com", "ports": {"number": 80}}, "ports", "must be a list"),
    ("ports-empty", {"host": "a.example.com", "ports": []}, "ports", "at least one port"),
    ("port-not-dict", {"host": "a.example.com", "ports": [80]}, "ports[0]", "must be a dict"),
    ("port-zero", {"host": "a.example.com", "ports": [{"number": 0, "protocol": "HTTP"}]},
     "ports[0].number", "out of range"),
    ("port-too-big", {"host": "a.example.com", "ports": [{"number": 65536, "protocol": "HTTP"}]},
     "ports[0].number", "out of range 1-65535"),
    ("port-bool", {"host": "a.example.com", "ports": [{"number": True, "protocol": "HTTP"}]},
     "ports[0].number", "boolean"),
    ("port-word", {"host": "a.example.com", "ports": [{"number": "https", "protocol": "TLS"}]},
     "ports[0].number", "must be an integer"),
    ("port-float", {"host": "a.example.com", "ports": [{"number": 80.5, "protocol": "HTTP"}]},
     "ports[0].number", "must be an integer"),
    ("port-number-missing", {"host": "a.example.com", "ports": [{"protocol": "HTTP"}]},
     "ports[0].number", "required"),
    ("protocol-missing", {"host": "a.example.com", "ports": [{"number": 80}]},
     "ports[0].protocol", "required, one of HTTP"),
    ("protocol-unknown", {"host": "a.example.com", "ports": [{"number": 80, "protocol": "UDP"}]},
     "ports[0].protocol", "must be one of HTTP, HTTPS, TLS, TCP, GRPC, HTTP2"),
    ("port-unknown-key", {"host": "a.example.com", "ports": [{"number": 80, "protocol": "HTTP", "nmae": "x"}]},
     "ports[0].nmae", "allowed keys: number, protocol"),
    ("port-duplicate", {"host": "a.example.com", "ports": [{"number": 443, "protocol": "TLS"},
                                                           {"number": "443", "protocol": "HTTPS"}]},
     "ports[1].number", "port 443 is listed twice"),
    ("via-gateway-word", {"host": "a.example.com", "via_gateway": "maybe"}, "via_gateway", "must be a boolean"),
    ("via-gateway-int", {"host": "a.example.com", "via_gateway": 1}, "via_gateway", "must be a boolean"),
    ("resolution-unknown", {"host": "a.example.com", "resolution": "DNS_ROUND_ROBIN"}, "resolution",
     "must be one of DNS, STATIC, NONE, DYNAMIC_DNS"),
    ("wildcard-with-dns", {"host": "*.example.com"}, "resolution", "use DYNAMIC_DNS"),
    ("none-via-gateway", {"host": "a.example.com", "resolution": "NONE"}, "resolution", "back to itself"),
    ("static-without-endpoints", {"host": "a.example.com", "resolution": "STATIC"}, "endpoints",
     "STATIC needs endpoints"),
    ("tls-origination", {"host": "a.example.com", "tls_origination": True}, "tls_origination",
     "not supported yet"),
    ("tls-origination-not-bool", {"host": "a.example.com", "tls_origination": "sometimes"}, "tls_origination",
     "must be a boolean"),
    ("sources-not-dict", {"host": "a.example.com", "allowed_sources": ["payments"]}, "allowed_sources",
     "must be a dict"),
    ("sources-unknown-key", {"host": "a.example.com", "allowed_sources": {"namespace": ["payments"]}},
     "allowed_sources.namespace", "did you mean 'namespaces'?"),
    ("sources-bad-namespace", {"host": "a.example.com", "allowed_sources": {"namespaces": ["Payments"]}},
     "allowed_sources.namespaces[0]", "DNS-1123 label"),
    ("sources-sa-no-namespace", {"host": "a.example.com", "allowed_sources": {"service_accounts": ["checkout"]}},
     "allowed_sources.service_accounts[0]", "'namespace/name'"),
    ("sources-empty", {"host": "a.example.com", "allowed_sources": {"namespaces": []}}, "allowed_sources",
     "lists no namespace"),
    ("address-not-ip", {"host": "a.example.com", "addresses": ["example.com"]}, "addresses[0]",
     "not an IP address or CIDR"),
    ("address-cidr-with-dns", {"host": "a.example.com", "addresses": ["10.0.0.0/24"]}, "addresses",
     "CIDR ranges need resolution STATIC or NONE"),
    ("endpoints-not-list", {"host": "a.example.com", "endpoints": "10.0.0.1"}, "endpoints", "must be a list"),
    ("endpoint-static-hostname", {"host": "a.example.com", "resolution": "STATIC",
                                  "endpoints": [{"address": "mirror.example.com"}]},
     "endpoints[0].address", "not an IP address"),
    ("endpoint-unknown-port-name", {"host": "a.example.com", "resolution": "STATIC",
                                    "endpoints": [{"address": "10.0.0.1", "ports": {"http": 8080}}]},
     "endpoints[0].ports", "its port names: http-80"),
    ("endpoint-with-none", {"host": "a.example.com", "resolution": "NONE", "via_gateway": False,
                            "endpoints": [{"address": "10.0.0.1"}]},
     "endpoints", "not allowed with resolution NONE"),
]


@pytest.mark.parametrize("item,field,fragment", [row[1:] for row in INVALID_ITEMS],
                         ids=[row[0] for row in INVALID_ITEMS])
def test_invalid_item_is_reported_with_index_and_field(item, field, fragment):
    errors = validate_hosts([OK, item])
    assert _errors_at(errors, 0) == []
    at_one = _errors_at(errors, 1)
    matching = [e for e in at_one if ": {0}: ".format(field) in e and fragment in e]
    assert matching, "no error naming field {0!r} with {1!r} in {2}".format(field, fragment, errors)
    if isinstance(item.get("host"), str) and item["host"]:
        assert all("(host {0!r})".format(item["host"]) in e for e in at_one)


def test_invalid_rows_are_plenty():
    assert len(INVALID_ITEMS) >= 30


def test_the_brief_example_message_verbatim():
    errors = validate_hosts([OK, {"host": "api.github.com"}, {"host": "api..github.com"}])
    assert errors == [
        "external_services_hosts[2] (host 'api..github.com'): host: 'api..github.com' is not a valid DNS "
        "name (RFC 1123: labels of a-z, 0-9 and '-', 1-63 chars, not starting or ending with '-')"
    ]


@pytest.mark.parametrize("value,fragment", [
    ({"host": "httpbin.org"}, "must be a list"),
    ("httpbin.org", "must be a list"),
    (None, "use [] for none"),
])
def test_the_list_itself_must_be_a_list(value, fragment):
    errors = validate_hosts(value)
    assert len(errors) == 1 and errors[0].startswith(VAR + ": ") and fragment in errors[0]


@pytest.mark.parametrize("item,fragment", [
    ("httpbin.org", "write {host: 'httpbin.org'}"),
    (["httpbin.org"], "must be a dict"),
    (None, "must be a dict"),
])
def test_items_must_be_dicts(item, fragment):
    errors = validate_hosts([OK, item])
    assert len(errors) == 1 and errors[0].startswith(VAR + "[1]: ") and fragment in errors[0]


def test_every_error_comes_back_in_one_call():
    items = [
        {"host": "api..github.com"},
        OK,
        {"host": "b.example.com", "ports": [{"number": 70000, "protocol": "HTTP"}]},
        {"host": "c.example.com", "via_gateway": "perhaps", "gateway": True},
        "d.example.com",
    ]
    errors = validate_hosts(items)
    assert {0, 2, 3, 4} == {i for i in range(len(items)) if _errors_at(errors, i)}
    assert len(_errors_at(errors, 3)) == 2
    assert len(errors) >= 5


def test_custom_variable_name_starts_every_message():
    errors = validate_hosts([{"host": "bad..host"}], var_name="team_hosts")
    assert errors and all(e.startswith("team_hosts[0] ") for e in errors)


def test_duplicate_hosts_name_both_indexes_case_insensitively():
    errors = validate_hosts([OK, {"host": "a.example.com"}, {"host": "HTTPBIN.org"}])
    assert len(errors) == 1
    assert errors[0].startswith(VAR + "[2] (host 'HTTPBIN.org'): host: ")
    assert VAR + "[0]" in errors[0]


def test_one_gateway_port_with_two_protocols_names_both_hosts():
    items = [
        {"host": "a.example.com", "ports": [{"number": 8080, "protocol": "HTTP"}]},
        {"host": "b.example.com", "ports": [{"number": 8080, "protocol": "TCP"}]},
    ]
    errors = validate_hosts(items)
    assert len(errors) == 1
    assert errors[0].startswith(VAR + "[1] (host 'b.example.com'): ports: ")
    assert "'a.example.com'" in errors[0] and VAR + "[0]" in errors[0]


@pytest.mark.parametrize("first,second", [
    # HTTPS and TLS are both SNI passthrough at the gateway: one TLS server.
    ({"number": 443, "protocol": "HTTPS"}, {"number": 443, "protocol": "TLS"}),
    ({"number": 80, "protocol": "HTTP"}, {"number": 80, "protocol": "http"}),
])
def test_compatible_gateway_ports_are_fine(first, second):
    assert validate_hosts([{"host": "a.example.com", "ports": [first]},
                           {"host": "b.example.com", "ports": [second]}]) == []


def test_port_protocol_conflicts_only_matter_through_the_gateway():
    items = [
        {"host": "a.example.com", "ports": [{"number": 8080, "protocol": "HTTP"}]},
        {"host": "b.example.com", "ports": [{"number": 8080, "protocol": "TCP"}], "via_gateway": False},
    ]
    assert validate_hosts(items) == []


def test_two_hosts_on_one_tcp_gateway_port_are_rejected():
    # TCP carries no host name, so the gateway could not tell the two apart.
    items = [
        {"host": "db1.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]},
        {"host": "db2.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]},
    ]
    errors = validate_hosts(items)
    assert len(errors) == 1 and "db1.example.com" in errors[0] and errors[0].startswith(VAR + "[1] ")


NORMALISED = [
    ("defaults", {"host": "HTTPBIN.org"}, {
        "host": "httpbin.org", "ports": [{"number": 80, "protocol": "HTTP"}], "via_gateway": True,
        "resolution": "DNS", "tls_origination": False, "allowed_sources": None, "addresses": [],
        "endpoints": []}),
    ("survey-strings", {"host": "api.github.com", "ports": [{"number": "443", "protocol": "tls"},
                                                            {"number": " 80 ", "protocol": "Http"}],
                        "via_gateway": "true", "tls_origination": "no", "resolution": "dns"}, {
        "host": "api.github.com",
        "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}],
        "via_gateway": True, "resolution": "DNS", "tls_origination": False, "allowed_sources": None,
        "addresses": [], "endpoints": []}),
    ("direct-static", {"host": "db.example.com", "via_gateway": "No", "resolution": "STATIC",
                       "ports": [{"number": 5432, "protocol": "TCP"}], "addresses": ["10.0.0.0/24"],
                       "endpoints": [{"address": "10.0.0.7", "ports": {"tcp-5432": "15432"}}]}, {
        "host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}], "via_gateway": False,
        "resolution": "STATIC", "tls_origination": False, "allowed_sources": None,
        "addresses": ["10.0.0.0/24"], "endpoints": [{"address": "10.0.0.7", "ports": {"tcp-5432": 15432}}]}),
    ("wildcard-dynamic-dns", {"host": "*.Example.com", "resolution": "dynamic_dns",
                              "ports": [{"number": 443, "protocol": "TLS"}]}, {
        "host": "*.example.com", "ports": [{"number": 443, "protocol": "TLS"}], "via_gateway": True,
        "resolution": "DYNAMIC_DNS", "tls_origination": False, "allowed_sources": None, "addresses": [],
        "endpoints": []}),
    ("allowed-sources-sorted-unique", {"host": "a.example.com", "allowed_sources": {
        "namespaces": ["payments", "billing", "payments"], "service_accounts": ["payments/checkout"]}}, {
        "host": "a.example.com", "ports": [{"number": 80, "protocol": "HTTP"}], "via_gateway": True,
        "resolution": "DNS", "tls_origination": False,
        "allowed_sources": {"namespaces": ["billing", "payments"], "service_accounts": ["payments/checkout"]},
        "addresses": [], "endpoints": []}),
]


@pytest.mark.parametrize("item,expected", [row[1:] for row in NORMALISED], ids=[row[0] for row in NORMALISED])
def test_valid_items_normalise(item, expected):
    assert validate_hosts([item]) == []
    assert normalize_hosts([item]) == [expected]


def test_normalised_output_is_valid_and_a_fixed_point():
    items = [row[1] for row in NORMALISED]
    once = normalize_hosts(items)
    assert validate_hosts(once) == []
    assert normalize_hosts(once) == once


def test_normalised_values_are_plain_types():
    [item] = normalize_hosts([{"host": "a.example.com", "ports": [{"number": "8443", "protocol": "https"}],
                               "via_gateway": "yes"}])
    port = item["ports"][0]
    assert type(port["number"]) is int and type(item["via_gateway"]) is bool and type(port["protocol"]) is str


def test_normalize_refuses_invalid_input_with_all_errors():
    with pytest.raises(ValueError) as caught:
        normalize_hosts([{"host": "bad..host"}, {"host": "ok.example.com", "ports": [{"number": 0}]}])
    message = str(caught.value)
    assert VAR + "[0]" in message and VAR + "[1]" in message


def test_empty_list_is_valid():
    assert validate_hosts([]) == [] and normalize_hosts([]) == []


def test_input_is_not_modified():
    item = {"host": "API.example.com", "ports": [{"number": "443", "protocol": "tls"}]}
    normalize_hosts([item])
    assert item == {"host": "API.example.com", "ports": [{"number": "443", "protocol": "tls"}]}
