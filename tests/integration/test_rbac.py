"""site.yml with exactly the rights docs/rbac.yaml grants, read from the file
itself: it succeeds, uses every right granted (least privilege), and without
any one rule fails with a message naming the 403 and the missing right,
having written nothing after the refused request."""
from pathlib import Path

import pytest

from helpers.cluster import install_istio
from helpers.mesh_state import failure_messages, site
from k8s_server.authz import rules_from_manifests
from k8s_server.fixtures import ISTIO_CRDS
from k8s_server.server import start_server

ROOT = Path(__file__).resolve().parents[2]
RULES, USER = rules_from_manifests((ROOT / "docs" / "rbac.yaml").read_text())
WRITES = ("create", "update", "patch", "delete")
# An admin's earlier run leaves three hosts and ALLOW_ANY; the run under test then
# changes one host, adds one and drops one, and sets REGISTRY_ONLY: it lists,
# creates, updates and deletes every kind it owns and patches the mesh config.
BEFORE = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
]
AFTER = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}]},
    {"host": "api.example.com", "ports": [{"number": 443, "protocol": "TLS"}]},
]
# Granted but not used by that run, each needed elsewhere (see docs/rbac.yaml):
UNUSED_GRANTS = {
    ("apps", "deployments", "get"),  # no Deployment carries the gateway's labels: say why
    # re-reads after a 409 (another writer got there first)
    ("networking.istio.io", "serviceentries", "get"), ("networking.istio.io", "gateways", "get"),
    ("networking.istio.io", "destinationrules", "get"), ("networking.istio.io", "virtualservices", "get"),
    # the owner's Gateway and DestinationRule: created by its first run, deleted when no host goes through the gateway
    ("networking.istio.io", "gateways", "create"), ("networking.istio.io", "gateways", "delete"),
    ("networking.istio.io", "destinationrules", "create"), ("networking.istio.io", "destinationrules", "delete"),
    ("networking.istio.io", "destinationrules", "update"),  # its subsets change with mutual-TLS hosts
    # hosts with allowed_sources
    ("security.istio.io", "authorizationpolicies", "get"), ("security.istio.io", "authorizationpolicies", "create"),
    ("security.istio.io", "authorizationpolicies", "update"), ("security.istio.io", "authorizationpolicies", "delete"),
}

# Read by kubernetes.core.k8s_info in the roles; the collection's modules read and write the rest.
KUBERNETES_CORE_READS = ("deployments", "services", "configmaps")


def granted(rules):
    return set((group, resource, verb) for rule in rules for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"])


@pytest.fixture(scope="module")
def earlier_state(tmp_path_factory):
    if not ISTIO_CRDS.is_file():
        pytest.skip("Istio CRD bundle not found at %s" % ISTIO_CRDS)
    directory = tmp_path_factory.mktemp("rbac")
    server = start_server(crd_file=str(ISTIO_CRDS))
    try:
        server.create_namespace("istio-system")
        install_istio(server)
        result = site(server, directory / "admin", BEFORE, outbound_policy_mode="ALLOW_ANY")
        assert result.rc == 0, failure_messages(result)
        server.save_state(str(directory / "state.json"))
    finally:
        server.stop()
    return directory / "state.json"


@pytest.fixture
def restricted(earlier_state):
    """A server holding the earlier state; call it with the rules the token gets."""
    servers = []

    def start(rules):
        server = start_server()
        servers.append(server)
        server.load_state(str(earlier_state))
        server.require_token("meshops-sa-token", rules=rules, user=USER)
        server.reset_counts()
        return server

    yield start
    for server in servers:
        server.stop()


def test_site_succeeds_with_exactly_the_documented_rules(restricted, tmp_path):
    server = restricted(RULES)
    result = site(server, tmp_path, AFTER)
    assert result.rc == 0, failure_messages(result)
    assert [r for r in server.requests if r["status"] == 403] == []
    used = set((r["group"], r["plural"], r["verb"]) for r in server.requests if r["verb"] not in ("discovery", "other"))
    # every write kind happened, so the run below proves each rule is needed
    assert set(verb for _group, _plural, verb in used) >= set(WRITES)
    assert granted(RULES) - used == UNUSED_GRANTS


# One rule per way a refusal reaches the user, to save CI time: the roles' first read
# (kubernetes.core), the mesh ConfigMap, the modules' LIST before any write, a refusal
# after writes (VirtualServices come last), a cluster-scope LIST.
COVERED = ("deployments", "configmaps", "serviceentries", "virtualservices", "networkpolicies")
CASES = [index for index, rule in enumerate(RULES) if rule["resources"][0] in COVERED]


def test_the_cases_cover_every_kind_of_rule():
    # the skipped rules (the gateway Service, AuthorizationPolicies) fail the same ways as covered ones
    assert len(CASES) == len(COVERED) and len(RULES) - len(CASES) == 2


@pytest.mark.parametrize("index", CASES, ids=["-".join(RULES[i]["resources"][:1] + RULES[i]["verbs"]) for i in CASES])
def test_without_one_rule_the_run_fails_naming_the_missing_right(restricted, tmp_path, index):
    missing = RULES[index]
    server = restricted(RULES[:index] + RULES[index + 1:])

    result = site(server, tmp_path, AFTER)

    assert result.rc != 0
    log = server.requests
    [first] = [r for r in log if r["status"] == 403][:1]
    assert (first["group"], first["plural"], first["verb"]) in granted([missing])
    # kubernetes.core's exception dumps escape the server's quotes
    text = "\n".join(failure_messages(result)).replace('\\"', '"')
    assert "403" in text and 'cannot %s resource "%s"' % (first["verb"], first["plural"]) in text, text
    if first["plural"] not in KUBERNETES_CORE_READS:
        assert "forbidden: the credentials lack %s on %s.%s" % (first["verb"], first["plural"], first["group"]) in text, text
    # nothing is written after the refusal, and nothing at all when it came first
    writes_before = sum(1 for r in log[:log.index(first)] if r["verb"] in WRITES and r["status"] < 400 and not r["dry_run"])
    assert server.counts()["writes"] == writes_before
