"""Bad input to playbooks/site.yml: every case fails, naming the item and the
field a user has to fix, and the cluster sees no write.

One table, one playbook run (tests/helpers/batch.py): each case is an
inventory host with its own identity on the control plane, Istio installed.
"""
import pytest

from helpers.batch import ISTIO_CRDS, Case, assert_converged, assert_refused, in_own_namespace, outcomes_fixture

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

SITE = "meshops.istio_egress.site"
VAR = "external_services_hosts"
OK = {"host": "httpbin.org"}


def hosts(*items):
    return {VAR: list(items)}


def item(index, *fields):
    """The fragments naming item ``index`` and its ``fields``."""
    return ("%s[%d]" % (VAR, index),) + fields


CASES = [
    # The host name
    Case("host-double-dot", hosts({"host": "api..github.com"}), item(0, "host:", "api..github.com")),
    Case("host-underscore", hosts(OK, {"host": "my_api.example.com"}), item(1, "host:", "my_api.example.com")),
    Case("host-missing", hosts({"ports": [{"number": 80, "protocol": "HTTP"}]}), item(0, "host:", "required")),
    Case("host-ip", hosts({"host": "10.1.2.3"}), item(0, "host:", "IP address", "addresses")),
    Case("host-trailing-dot", hosts({"host": "httpbin.org."}), item(0, "host:", "trailing")),
    Case("host-not-string", hosts({"host": 42}), item(0, "host:")),
    Case("host-too-long", hosts({"host": ("a" * 60 + ".") * 5 + "com"}), item(0, "host:", "253")),
    # Wildcards
    Case("wildcard-bare", hosts({"host": "*"}), item(0, "host:", "'*'")),
    Case("wildcard-inner", hosts({"host": "api.*.example.com"}), item(0, "host:", "leading '*.'")),
    Case("wildcard-dns", hosts({"host": "*.example.com", "ports": [{"number": 443, "protocol": "TLS"}]}),
         item(0, "resolution:", "DNS cannot resolve a wildcard")),
    Case("wildcard-http-via-gateway", hosts({"host": "*.example.com", "resolution": "DYNAMIC_DNS"}),
         item(0, "ports:", "TLS/HTTPS ports only")),
    Case("wildcard-served-by-wildcard", hosts({"host": "*.example.com", "served_by": "*.example.net",
                                               "ports": [{"number": 443, "protocol": "TLS"}]}),
         item(0, "served_by:", "wildcard")),
    Case("served-by-plain-host", hosts({"host": "a.example.com", "served_by": "b.example.com"}),
         item(0, "served_by:", "only for a wildcard")),
    # Ports and protocols
    Case("port-out-of-range", hosts({"host": "a.example.com", "ports": [{"number": 70000, "protocol": "HTTP"}]}),
         item(0, "ports[0].number", "70000")),
    Case("port-zero", hosts({"host": "a.example.com", "ports": [{"number": 0, "protocol": "TCP"}]}),
         item(0, "ports[0].number", "range")),
    Case("port-word", hosts({"host": "a.example.com", "ports": [{"number": "https", "protocol": "TLS"}]}),
         item(0, "ports[0].number", "'https'")),
    Case("port-float", hosts({"host": "a.example.com", "ports": [{"number": 80.5, "protocol": "HTTP"}]}),
         item(0, "ports[0].number", "80.5")),
    Case("port-as-number", hosts({"host": "a.example.com", "ports": [443]}), item(0, "ports[0]", "dict")),
    Case("ports-empty", hosts({"host": "a.example.com", "ports": []}), item(0, "ports:", "at least one")),
    Case("ports-dict", hosts({"host": "a.example.com", "ports": {"number": 80, "protocol": "HTTP"}}),
         item(0, "ports:", "list")),
    Case("protocol-unknown", hosts({"host": "a.example.com", "ports": [{"number": 53, "protocol": "UDP"}]}),
         item(0, "ports[0].protocol", "'UDP'")),
    Case("protocol-missing", hosts({"host": "a.example.com", "ports": [{"number": 8080}]}),
         item(0, "ports[0].protocol", "required")),
    Case("protocol-http-on-443", hosts({"host": "a.example.com", "ports": [{"number": 443, "protocol": "HTTP"}]}),
         item(0, "ports[0].protocol", "443")),
    Case("port-twice", hosts({"host": "a.example.com", "ports": [{"number": 8443, "protocol": "TLS"}, {"number": 8443, "protocol": "TLS"}]}),
         item(0, "ports[1].number", "8443")),
    Case("port-reserved", hosts({"host": "a.example.com", "ports": [{"number": 15001, "protocol": "TCP"}],
                                 "addresses": ["10.0.0.1"]}),
         item(0, "ports:", "15001")),
    # Duplicates and conflicts between items
    Case("host-twice", hosts(OK, {"host": "a.example.com"}, OK), item(2, "host:", "httpbin.org", "[0]")),
    Case("host-twice-case", hosts(OK, {"host": "HTTPBIN.org"}), item(1, "host:", "[0]")),
    Case("port-protocol-conflict", hosts({"host": "a.example.com", "ports": [{"number": 8443, "protocol": "TLS"}]},
                                         {"host": "b.example.com", "ports": [{"number": 8443, "protocol": "HTTP"}]}),
         item(1, "ports:", "8443", "a.example.com")),
    Case("tcp-port-shared", hosts({"host": "a.example.com", "ports": [{"number": 5432, "protocol": "TCP"}],
                                   "addresses": ["10.0.0.1"]},
                                  {"host": "b.example.com", "ports": [{"number": 5432, "protocol": "TCP"}],
                                   "addresses": ["10.0.0.2"]}),
         item(1, "ports:", "5432")),
    # Unknown keys, wrong types
    Case("key-gateway", hosts({"host": "a.example.com", "gateway": True}), item(0, "gateway:", "unknown key")),
    Case("key-port-typo", hosts({"host": "a.example.com", "port": [{"number": 80, "protocol": "HTTP"}]}),
         item(0, "port:", "did you mean 'ports'")),
    Case("key-port-item", hosts({"host": "a.example.com", "ports": [{"number": 80, "protocol": "HTTP", "name": "web"}]}),
         item(0, "ports[0].name", "unknown key")),
    Case("item-string", hosts(OK, "api.github.com"), item(1, "must be a dict", "api.github.com")),
    Case("item-null", hosts(None), item(0, "must be a dict")),
    Case("hosts-not-list", {VAR: "httpbin.org"}, (VAR, "must be a list")),
    Case("via-gateway-word", hosts({"host": "a.example.com", "via_gateway": "maybe"}), item(0, "via_gateway:", "boolean")),
    Case("resolution-unknown", hosts({"host": "a.example.com", "resolution": "DNSX"}), item(0, "resolution:", "'DNSX'")),
    Case("resolution-none-via-gateway", hosts({"host": "a.example.com", "resolution": "NONE"}),
         item(0, "resolution:", "NONE")),
    Case("static-without-endpoints", hosts({"host": "a.example.com", "resolution": "STATIC"}),
         item(0, "endpoints:", "STATIC")),
    Case("static-endpoint-name", hosts({"host": "a.example.com", "resolution": "STATIC",
                                        "endpoints": [{"address": "backend.example.com"}]}),
         item(0, "endpoints[0].address", "backend.example.com")),
    Case("address-not-ip", hosts({"host": "a.example.com", "addresses": ["300.1.1.1"]}),
         item(0, "addresses[0]", "300.1.1.1")),
    Case("cidr-with-dns", hosts({"host": "a.example.com", "addresses": ["10.0.0.0/24"]}),
         item(0, "addresses:", "CIDR")),
    # TLS origination and credentials
    Case("tls-origination-mutual-word", hosts({"host": "a.example.com", "tls_origination": "MUTUAL"}),
         item(0, "tls_origination:", "credential_name")),
    Case("credential-without-origination", hosts({"host": "a.example.com", "credential_name": "client-cert"}),
         item(0, "credential_name:", "tls_origination")),
    Case("credential-bad-name", hosts({"host": "a.example.com", "tls_origination": True, "credential_name": "Client_Cert"}),
         item(0, "credential_name:", "Client_Cert")),
    Case("credential-empty", hosts({"host": "a.example.com", "tls_origination": True, "credential_name": ""}),
         item(0, "credential_name:")),
    Case("origination-tls-port", hosts({"host": "a.example.com", "tls_origination": True,
                                        "ports": [{"number": 443, "protocol": "TLS"}]}),
         item(0, "ports:", "443")),
    Case("origination-port-in-ports", hosts({"host": "a.example.com", "tls_origination": True, "origination_port": 8080,
                                             "ports": [{"number": 8080, "protocol": "HTTP"}]}),
         item(0, "origination_port:", "8080")),
    Case("origination-direct", hosts({"host": "a.example.com", "tls_origination": True, "via_gateway": False}),
         item(0, "tls_origination:", "via_gateway")),
    # Allowed sources
    Case("sources-bad-namespace", hosts({"host": "a.example.com", "allowed_sources": {"namespaces": ["Payments"]}}),
         item(0, "allowed_sources.namespaces[0]", "Payments")),
    Case("sources-bad-account", hosts({"host": "a.example.com", "allowed_sources": {"service_accounts": ["checkout"]}}),
         item(0, "allowed_sources.service_accounts[0]", "checkout")),
    Case("sources-empty", hosts({"host": "a.example.com", "allowed_sources": {}}), item(0, "allowed_sources:")),
    Case("sources-without-mtls", dict(hosts({"host": "a.example.com", "allowed_sources": {"namespaces": ["payments"]}}),
                                      external_services_gateway_mtls=False),
         item(0, "allowed_sources:", "external_services_gateway_mtls")),
]


# Valid input in the same run (in a namespace of its own): it converges, and its writes are counted.
CONTROL = Case("control-valid-hosts", in_own_namespace(hosts(OK, {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]})), ())
outcomes = outcomes_fixture(SITE, CASES + [CONTROL])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_host_item_fails_naming_item_and_field_and_writes_nothing(case, outcomes):
    assert_refused(case, outcomes[case.id])


def test_valid_hosts_in_the_same_run_converge(outcomes):
    assert_converged(outcomes[CONTROL.id])
