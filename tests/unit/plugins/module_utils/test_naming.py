"""Object names: valid Kubernetes names, readable, stable, collision-free."""
import hashlib
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.meshops.istio_egress.plugins.module_utils import _naming as naming
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import validate_hosts

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
HOSTS = [
    "httpbin.org",
    "edition.cnn.com",
    "api.github.com",
    "*.example.com",
    "a.b",
    "0.example.com",
    "xn--bcher-kva.example",
    "a-b.com",
    "a.b-com",
    MAX_HOST,
    MAX_HOST[:-1] + "e",
    "*." + MAX_HOST[2:],
    "a" * 63 + ".com",
]


def _sha8(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _all_names(owner, host):
    return [
        naming.virtual_service_name(host),
        naming.service_entry_name(owner, host),
        naming.gateway_name(owner),
        naming.destination_rule_name(owner),
        naming.subset_name(host),
        naming.host_destination_rule_name(owner, host),
        naming.authorization_policy_name(owner, host),
        naming.allow_policy_name(owner),
        naming.deny_policy_name(owner),
        naming.network_policy_name(owner),
    ]


def test_max_host_is_253_chars_and_valid():
    assert len(MAX_HOST) == 253 and validate_hosts([{"host": MAX_HOST}]) == []


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("owner", ["prod-eu", "Cluster_1.example", "x" * 63])
def test_names_are_dns1123_labels(owner, host):
    for name in _all_names(owner, host):
        assert len(name) <= 63 and DNS1123_LABEL.match(name), name


@pytest.mark.parametrize("host,slug", [
    ("httpbin.org", "httpbin-org"),
    ("edition.cnn.com", "edition-cnn-com"),
    ("*.example.com", "wildcard-example-com"),
])
def test_names_start_with_the_host_as_a_slug(host, slug):
    assert naming.virtual_service_name(host) == "{0}-{1}".format(slug, _sha8(host))
    assert naming.service_entry_name("prod-eu", host) == "{0}-{1}".format(slug, _sha8("prod-eu/" + host))


def test_long_host_slug_is_cut_and_digest_kept():
    name = naming.virtual_service_name(MAX_HOST)
    assert len(name) == 63 and name.startswith("a" * 54) and name.endswith("-" + _sha8(MAX_HOST))


def test_slug_never_ends_in_a_dash_before_the_digest():
    host = "a" * 53 + ".example.com"  # the cut falls right after the dot
    name = naming.virtual_service_name(host)
    assert "--" not in name and DNS1123_LABEL.match(name)


def test_shared_names_carry_the_owner():
    assert naming.gateway_name("prod-eu") == "meshops-egress-prod-eu-" + _sha8("prod-eu")
    assert naming.destination_rule_name("prod-eu") == naming.gateway_name("prod-eu")


def test_hosts_with_the_same_slug_get_different_names():
    assert naming.slug("a-b.com") == naming.slug("a.b-com")
    assert naming.virtual_service_name("a-b.com") != naming.virtual_service_name("a.b-com")


def test_service_entry_names_differ_per_owner_but_virtual_service_names_do_not():
    # VirtualServices are shared between owners; ServiceEntries are not.
    assert naming.service_entry_name("a", "httpbin.org") != naming.service_entry_name("b", "httpbin.org")
    assert naming.virtual_service_name("httpbin.org") == naming.virtual_service_name("httpbin.org")


def test_route_names_are_unique_per_owner_host_leg_and_port():
    names = {
        naming.route_name(owner, host, leg, port)
        for owner in ("a", "b")
        for host in ("httpbin.org", "edition.cnn.com")
        for leg in ("mesh", "gateway")
        for port in (80, 8080)
    }
    assert len(names) == 16
    assert naming.route_name("prod-eu", "httpbin.org", "mesh", 80) == "meshops-{0}-mesh-80".format(
        _sha8("prod-eu/httpbin.org"))


def test_names_do_not_depend_on_the_python_hash_seed():
    code = ("from ansible_collections.meshops.istio_egress.plugins.module_utils import _naming as n;"
            "print(n.virtual_service_name('httpbin.org'), n.service_entry_name('o', 'httpbin.org'),"
            " n.gateway_name('o'), n.route_name('o', 'httpbin.org', 'mesh', 80))")
    outputs = set()
    for seed in ("1", "2", "random"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert len(outputs) == 1


# Few letters on purpose: more hosts that differ in one character or share a slug.
_label = st.text(alphabet="ab09-", min_size=1, max_size=63).map(lambda t: t.strip("-") or "a")


@st.composite
def hosts(draw):
    labels = draw(st.lists(_label, min_size=2, max_size=6))
    host = ".".join(labels)[:253].rstrip(".-")
    if draw(st.booleans()):
        host = "*." + host[:251].rstrip(".-")
    return host


@given(st.lists(hosts(), min_size=2, max_size=12, unique=True), st.sampled_from(["a", "prod-eu", "Z" * 63]))
@settings(max_examples=200, deadline=None)
def test_distinct_hosts_get_distinct_valid_names(host_list, owner):
    host_list = [h for h in host_list if naming.host_error(h) is None]
    vs = [naming.virtual_service_name(h) for h in host_list]
    se = [naming.service_entry_name(owner, h) for h in host_list]
    subsets = [naming.subset_name(h) for h in host_list]
    policies = [naming.authorization_policy_name(owner, h) for h in host_list]
    for names in (vs, se, subsets, policies):
        assert len(set(names)) == len(host_list)
    for name in vs + se + subsets + policies:
        assert len(name) <= 63 and DNS1123_LABEL.match(name)


@given(st.lists(st.lists(_label, min_size=1, max_size=3).map(".".join), min_size=2, max_size=12, unique=True))
@settings(max_examples=100, deadline=None)
def test_hosts_whose_slugs_are_cut_to_the_same_prefix_stay_distinct(suffixes):
    # Everything past the 54-character cut differs: only the digest can tell them apart.
    host_list = ["{0}.{1}".format("p" * 60, suffix) for suffix in suffixes]
    names = [naming.virtual_service_name(h) for h in host_list]
    assert len({n[:54] for n in names}) == 1
    assert len(set(names)) == len(host_list)


@given(hosts(), st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=63))
@settings(max_examples=200, deadline=None)
def test_names_are_stable_and_valid_for_any_owner(host, owner):
    first = _all_names(owner, host)
    assert first == _all_names(owner, host)
    assert first[0] == naming.virtual_service_name(host)
    for name in first:
        assert len(name) <= 63 and DNS1123_LABEL.match(name)


@given(st.lists(st.text(alphabet="abc-_.XY0", min_size=1, max_size=63), min_size=2, max_size=10, unique=True))
@settings(max_examples=200, deadline=None)
def test_distinct_owners_get_distinct_shared_names(owners):
    assert len({naming.gateway_name(o) for o in owners}) == len(owners)


@pytest.mark.parametrize("value,label,subdomain", [
    ("istio-system", True, True),
    ("a" * 63, True, True),
    ("a" * 64, False, False),
    ("Istio", False, False),
    ("-a", False, False),
    ("a.b", False, True),
    ("", False, False),
    (None, False, False),
])
def test_dns1123_predicates(value, label, subdomain):
    assert naming.is_dns1123_label(value) is label
    assert naming.is_dns1123_subdomain(value) is subdomain


@pytest.mark.parametrize("value,valid", [
    ("prod-eu", True), ("Cluster_1.x", True), ("", True), ("a" * 64, False), ("-a", False), ("a b", False),
])
def test_label_values(value, valid):
    assert naming.is_label_value(value) is valid


@pytest.mark.parametrize("protocol,number,name", [("HTTP", 80, "http-80"), ("TLS", 443, "tls-443"),
                                                  ("HTTP2", 8443, "http2-8443")])
def test_port_names_carry_istio_protocol_prefix(protocol, number, name):
    assert naming.port_name(protocol, number) == name


@pytest.mark.parametrize("error, expected", [
    # (error led by a key, with names {name: egress_gateway_name, ports: extra_ports_var, owner: istio_egress_owner})
    ("name: 'X' is not valid", "egress_gateway_name: 'X' is not valid"),
    ("ports[2]: port 0", "extra_ports_var[2]: port 0"),
    ("ports[2].protocol: required", "extra_ports_var[2].protocol: required"),
    ("max: must be >= `name` (3)", "max: must be >= egress_gateway_name (3)"),
    ("other: left as it is", "other: left as it is"),
    ("hosts[0] (host 'x'): needs `owner`", "hosts[0] (host 'x'): needs istio_egress_owner"),
    ("free text naming no key", "free text naming no key"),
])
def test_name_errors(error, expected):
    names = {"name": "egress_gateway_name", "ports": "extra_ports_var", "owner": "istio_egress_owner"}
    assert naming.name_errors([error], names) == [expected]


def test_name_errors_without_names_drops_the_quotes_and_can_note_the_key():
    assert naming.name_errors(["max: must be >= `min` (3)"]) == ["max: must be >= min (3)"]
    assert naming.name_errors(["gateway_service_ports: bad"], {"gateway_service_ports": "external_services_gateway_ports"},
                              note_key=True) == ["external_services_gateway_ports (setting gateway_service_ports): bad"]
    assert naming.name_errors(["owner: bad"], {"owner": "istio_egress_owner"}, note_key=True) == ["istio_egress_owner: bad"]
