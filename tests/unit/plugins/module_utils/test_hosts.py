"""validate_hosts / normalize_hosts: what a user sees for a wrong host list,
and what rendering gets for a right one."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import (
    normalize_hosts,
    validate_hosts,
)

# Unnamed by the caller, the list is "hosts" (the role layer passes external_services_hosts).
VAR = "hosts"
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
    ("tls-origination-direct", {"host": "a.example.com", "tls_origination": True, "via_gateway": False},
     "tls_origination", "originated at the egress gateway"),
    ("tls-origination-not-bool", {"host": "a.example.com", "tls_origination": "sometimes"}, "tls_origination",
     "must be a boolean"),
    ("tls-origination-mode-mutual", {"host": "a.example.com", "tls_origination": "MUTUAL"}, "tls_origination",
     "also credential_name"),
    ("tls-origination-mode-simple", {"host": "a.example.com", "tls_origination": "simple"}, "tls_origination",
     "write tls_origination: true"),
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
] + [
    # The egress variants (docs/egress-variants.md): rules between the keys of one item.
    ("http-on-443", {"host": "a.example.com", "ports": [{"number": 443, "protocol": "HTTP"}]},
     "ports[0].protocol", "port 443, which carries TLS by convention"),
    ("grpc-on-443", {"host": "a.example.com", "ports": [{"number": 8080, "protocol": "HTTP"},
                                                        {"number": 443, "protocol": "GRPC"}]},
     "ports[1].protocol", "use protocol TLS (or HTTPS)"),
    ("tls-on-80", {"host": "a.example.com", "ports": [{"number": 80, "protocol": "TLS"}]},
     "ports[0].protocol", "port 80, which carries plain HTTP by convention"),
    ("https-on-80-direct", {"host": "a.example.com", "via_gateway": False,
                            "ports": [{"number": 80, "protocol": "HTTPS"}]},
     "ports[0].protocol", "use protocol HTTP"),
    ("reserved-port", {"host": "a.example.com", "ports": [{"number": 15001, "protocol": "TCP"}]},
     "ports", "Istio proxy's own"),
    ("dynamic-dns-single-name", {"host": "a.example.com", "resolution": "DYNAMIC_DNS",
                                 "ports": [{"number": 443, "protocol": "TLS"}]},
     "resolution", "wildcard hosts only"),
    ("dynamic-dns-addresses", {"host": "*.example.com", "resolution": "DYNAMIC_DNS", "addresses": ["192.0.2.1"],
                               "ports": [{"number": 443, "protocol": "TLS"}]},
     "addresses", "not with DYNAMIC_DNS"),
    ("dynamic-dns-endpoints", {"host": "*.example.com", "resolution": "DYNAMIC_DNS", "via_gateway": False,
                               "endpoints": [{"address": "192.0.2.1"}]},
     "endpoints", "Istio ignores the endpoints"),
    ("wildcard-gateway-http", {"host": "*.example.com", "resolution": "DYNAMIC_DNS"},
     "ports", "TLS/HTTPS ports only"),
    ("wildcard-gateway-static", {"host": "*.example.com", "resolution": "STATIC",
                                 "ports": [{"number": 443, "protocol": "TLS"}],
                                 "endpoints": [{"address": "192.0.2.1"}]},
     "resolution", "use served_by"),
    ("wildcard-gateway-none", {"host": "*.example.com", "resolution": "NONE",
                               "ports": [{"number": 443, "protocol": "TLS"}]},
     "resolution", "back to itself"),
    ("wildcard-allowed-sources", {"host": "*.example.com", "resolution": "DYNAMIC_DNS",
                                  "ports": [{"number": 443, "protocol": "TLS"}],
                                  "allowed_sources": {"namespaces": ["payments"]}},
     "allowed_sources", "list the hosts one by one"),
    ("wildcard-origination", {"host": "*.example.com", "served_by": "www.example.com", "tls_origination": True,
                              "ports": [{"number": 443, "protocol": "TLS"}]},
     "tls_origination", "one name to originate TLS to"),
    ("served-by-single-name", {"host": "a.example.com", "served_by": "www.example.com"},
     "served_by", "only for a wildcard host"),
    ("served-by-direct", {"host": "*.example.com", "served_by": "www.example.com", "via_gateway": False,
                          "ports": [{"number": 443, "protocol": "TLS"}]},
     "served_by", "only through the egress gateway"),
    ("served-by-wildcard", {"host": "*.example.com", "served_by": "*.example.net",
                            "ports": [{"number": 443, "protocol": "TLS"}]},
     "served_by", "is a wildcard"),
    ("served-by-ip", {"host": "*.example.com", "served_by": "192.0.2.1",
                      "ports": [{"number": 443, "protocol": "TLS"}]},
     "served_by", "is an IP address"),
    ("served-by-with-dns", {"host": "*.example.com", "served_by": "www.example.com", "resolution": "DNS",
                            "ports": [{"number": 443, "protocol": "TLS"}]},
     "resolution", "drop 'resolution'"),
    ("origination-tls-port", {"host": "a.example.com", "tls_origination": True,
                              "ports": [{"number": 8443, "protocol": "TLS"}]},
     "ports", "are not HTTP"),
    ("origination-port-listed", {"host": "a.example.com", "tls_origination": True, "origination_port": 8080,
                                 "ports": [{"number": 8080, "protocol": "HTTP"}]},
     "origination_port", "a second time"),
    ("origination-port-alone", {"host": "a.example.com", "origination_port": 8443}, "origination_port",
     "only with tls_origination: true"),
    ("origination-port-bad", {"host": "a.example.com", "tls_origination": True, "origination_port": 0},
     "origination_port", "out of range"),
    ("credential-alone", {"host": "a.example.com", "credential_name": "client-cert"}, "credential_name",
     "only with tls_origination: true"),
    ("credential-bad-name", {"host": "a.example.com", "tls_origination": True, "credential_name": "Client_Cert"},
     "credential_name", "is not a Secret name"),
    ("sources-direct", {"host": "a.example.com", "via_gateway": False,
                        "allowed_sources": {"namespaces": ["payments"]}},
     "allowed_sources", "does not go through"),
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
    assert len(INVALID_ITEMS) >= 60


def test_the_brief_example_message_verbatim():
    errors = validate_hosts([OK, {"host": "api.github.com"}, {"host": "api..github.com"}], "external_services_hosts")
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


# The egress variants' keys, None unless the item sets them.
VARIANT_KEYS = {"origination_port": None, "credential_name": None, "served_by": None}
NORMALISED += [
    ("tls-origination-defaults", {"host": "Secure.example.com", "tls_origination": "yes"}, {
        "host": "secure.example.com", "ports": [{"number": 80, "protocol": "HTTP"}], "via_gateway": True,
        "resolution": "DNS", "tls_origination": True, "allowed_sources": None, "addresses": [], "endpoints": [],
        "origination_port": 443}),
    ("tls-origination-mutual", {"host": "mtls.example.com", "tls_origination": True, "origination_port": "8443",
                                "credential_name": "mtls-client", "ports": [{"number": 8080, "protocol": "http"}],
                                "resolution": "STATIC",
                                "endpoints": [{"address": "192.0.2.7", "ports": {"https-8443": 9443}}]}, {
        "host": "mtls.example.com", "ports": [{"number": 8080, "protocol": "HTTP"}], "via_gateway": True,
        "resolution": "STATIC", "tls_origination": True, "allowed_sources": None, "addresses": [],
        "endpoints": [{"address": "192.0.2.7", "ports": {"https-8443": 9443}}],
        "origination_port": 8443, "credential_name": "mtls-client"}),
    ("wildcard-served-by", {"host": "*.Wikipedia.org", "served_by": "WWW.wikipedia.org",
                            "ports": [{"number": 443, "protocol": "TLS"}]}, {
        "host": "*.wikipedia.org", "ports": [{"number": 443, "protocol": "TLS"}], "via_gateway": True,
        "resolution": "NONE", "tls_origination": False, "allowed_sources": None, "addresses": [], "endpoints": [],
        "served_by": "www.wikipedia.org"}),
    ("tcp-cidr-static", {"host": "db.partner.example", "ports": [{"number": 5432, "protocol": "TCP"}],
                         "addresses": ["203.0.113.0/24"], "resolution": "STATIC",
                         "endpoints": [{"address": "203.0.113.10"}],
                         "allowed_sources": {"service_accounts": ["payments/checkout"]}}, {
        "host": "db.partner.example", "ports": [{"number": 5432, "protocol": "TCP"}], "via_gateway": True,
        "resolution": "STATIC", "tls_origination": False,
        "allowed_sources": {"namespaces": [], "service_accounts": ["payments/checkout"]},
        "addresses": ["203.0.113.0/24"], "endpoints": [{"address": "203.0.113.10", "ports": {}}]}),
]


@pytest.mark.parametrize("item,expected", [row[1:] for row in NORMALISED], ids=[row[0] for row in NORMALISED])
def test_valid_items_normalise(item, expected):
    assert validate_hosts([item]) == []
    assert normalize_hosts([item]) == [dict(VARIANT_KEYS, **expected)]


def test_normalised_output_is_valid_and_a_fixed_point():
    items = [row[1] for row in NORMALISED]
    once = normalize_hosts(items)
    assert validate_hosts(once) == []
    assert normalize_hosts(once) == once


def test_normalised_values_are_plain_types():
    [item] = normalize_hosts([{"host": "a.example.com", "ports": [{"number": "8443", "protocol": "https"}],
                               "via_gateway": "yes"}])
    port = item["ports"][0]
    # exact types: a bool is an int too, and "443" must have become 443
    assert [type(port["number"]), type(item["via_gateway"]), type(port["protocol"])] == [int, bool, str]


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


def test_served_by_naming_a_declared_host_is_refused():
    items = [{"host": "www.wikipedia.org", "ports": [{"number": 443, "protocol": "TLS"}]},
             {"host": "*.wikipedia.org", "served_by": "www.wikipedia.org",
              "ports": [{"number": 443, "protocol": "TLS"}]}]
    errors = validate_hosts(items)
    assert len(errors) == 1
    assert errors[0].startswith(VAR + "[1] (host '*.wikipedia.org'): served_by: ")
    assert VAR + "[0]" in errors[0]


def test_two_wildcards_may_share_one_server():
    items = [{"host": "*.wikipedia.org", "served_by": "www.wikipedia.org",
              "ports": [{"number": 443, "protocol": "TLS"}]},
             {"host": "*.wikimedia.org", "served_by": "www.wikipedia.org",
              "ports": [{"number": 443, "protocol": "TLS"}]}]
    assert validate_hosts(items) == []


def test_key_rules_wait_for_valid_keys():
    # One broken key, one message: no cascade of rules about the other keys.
    errors = validate_hosts([{"host": "a.example.com", "tls_origination": "maybe", "credential_name": "c"}])
    assert len(errors) == 1 and ": tls_origination: must be a boolean" in errors[0]


@pytest.mark.parametrize("item", [
    {"host": "*.example.com", "via_gateway": False, "resolution": "NONE"},
    {"host": "*.example.com", "via_gateway": False, "resolution": "DYNAMIC_DNS",
     "ports": [{"number": 8080, "protocol": "HTTP"}]},
    {"host": "*.example.com", "resolution": "DYNAMIC_DNS", "ports": [{"number": 443, "protocol": "HTTPS"}]},
    {"host": "*.example.com", "served_by": "www.example.com", "resolution": "NONE",
     "ports": [{"number": 443, "protocol": "TLS"}, {"number": 8443, "protocol": "HTTPS"}]},
    {"host": "a.example.com", "tls_origination": True, "ports": [{"number": 80, "protocol": "HTTP"},
                                                                 {"number": 8080, "protocol": "HTTP2"}]},
    {"host": "a.example.com", "ports": [{"number": 8443, "protocol": "HTTP"}]},
    {"host": "a.example.com", "ports": [{"number": 15443, "protocol": "TLS"}]},
    {"host": "a.example.com", "allowed_sources": {"namespaces": ["payments"]},
     "ports": [{"number": 443, "protocol": "TLS"}]},
], ids=["wildcard-direct-none", "wildcard-direct-dynamic-http", "wildcard-gateway-dynamic",
        "wildcard-served-by", "origination-two-http-ports", "http-on-8443", "tls-on-15443", "tls-sources"])
def test_supported_variants_are_valid(item):
    assert validate_hosts([item]) == []
