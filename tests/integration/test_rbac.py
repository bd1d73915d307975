"""site.yml with exactly the rights docs/rbac.yaml grants, applied to the API
server as they are and enforced by its RBAC authorizer: with a ServiceAccount
token (TokenRequest) the run succeeds and uses every right granted (least
privilege), and without any one rule it fails with a message naming the 403
and the missing right, having written nothing after the refused request."""
from pathlib import Path

import pytest
import yaml

from helpers.cluster import install_istio
from helpers.credentials import allowed, service_account_groups, service_account_user, wait_for_authorizer
from helpers.inventory import write_inventory
from helpers.mesh_state import failure_messages
from helpers.playbook import run_playbook

ROOT = Path(__file__).resolve().parents[2]
SITE = "meshops.istio_egress.site"
MANIFESTS = yaml.safe_load((ROOT / "docs" / "rbac.yaml").read_text())["items"]
[ACCOUNT] = [m["metadata"] for m in MANIFESTS if m["kind"] == "ServiceAccount"]
USER = service_account_user(ACCOUNT["namespace"], ACCOUNT["name"])
# (kind of the role, its name, rule index, rule): every rule of the Role(s) and the ClusterRole(s)
RULES = [(m["kind"], m["metadata"], i, rule) for m in MANIFESTS if m["kind"] in ("Role", "ClusterRole")
         for i, rule in enumerate(m["rules"])]
WRITES = ("create", "update", "patch", "delete")
NS = "istio-system"
MANAGED_BY = "app.kubernetes.io/managed-by"
ISTIO_PLURALS = ("serviceentries", "gateways", "destinationrules", "virtualservices", "authorizationpolicies")
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
    ("", "configmaps", "update"),  # the ApplySet parent, when the kinds or namespaces of the set change
}

# Read first (the gateway, the mesh config, the ApplySet parent): a refusal there is the one-sentence form of api_errors.py.
KUBERNETES_CORE_READS = ("deployments", "services", "configmaps")


def granted(rules):
    return set((group, resource, verb) for rule in rules for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"])


def site(kubeconfig, directory, hosts, **host_vars):
    inventory = write_inventory(directory, {"cluster-a": dict({"external_services_hosts": hosts}, **host_vars)})
    return run_playbook(SITE, inventory=inventory, kubeconfig=kubeconfig)


def settled(server, rules, expected):
    """The authorizer answers ``expected`` for the first right of each (kind, metadata, index, rule)."""
    groups = service_account_groups(ACCOUNT["namespace"])
    return all(allowed(server, USER, groups, rule["verbs"][0], rule["apiGroups"][0], rule["resources"][0],
                       meta.get("namespace"), (rule.get("resourceNames") or [None])[0]) == expected
               for _kind, meta, _index, rule in rules)


@pytest.fixture(scope="module")
def earlier_state(control_plane, tmp_path_factory):
    """What the admin's earlier run left (our objects, the mesh config), read back through
    the API once per module; each test writes it again into its fresh cluster."""
    try:
        control_plane.create_namespace(NS)
        install_istio(control_plane)
        result = site(control_plane.kubeconfig, tmp_path_factory.mktemp("admin"), BEFORE, outbound_policy_mode="ALLOW_ANY")
        assert result.rc == 0, failure_messages(result)
        objects = [o for plural in ISTIO_PLURALS for o in control_plane.objects(plural, NS)
                   if MANAGED_BY in o["metadata"].get("labels", {})]
        mesh = control_plane.get("configmaps", NS, "istio")["data"]
        return objects, mesh
    finally:
        control_plane.wipe()


@pytest.fixture
def restricted(apiserver, earlier_state, tmp_path):
    """The earlier state, docs/rbac.yaml applied, and a kubeconfig with the ServiceAccount's token."""
    objects, mesh = earlier_state
    install_istio(apiserver)
    for obj in objects:
        meta = dict((k, obj["metadata"][k]) for k in ("name", "namespace", "labels", "annotations") if k in obj["metadata"])
        apiserver.create({"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta, "spec": obj["spec"]})
    apiserver.request("PATCH", apiserver.path("configmaps", NS, "istio"), {"data": mesh},
                      content_type="application/merge-patch+json")
    for manifest in MANIFESTS:
        apiserver.create(manifest)
    wait_for_authorizer(lambda: settled(apiserver, RULES, True), "docs/rbac.yaml applied")
    token = apiserver.service_account_token(ACCOUNT["namespace"], ACCOUNT["name"])
    apiserver.reset_counts()
    return apiserver.write_kubeconfig(str(tmp_path / "sa.kubeconfig"), token=token)


def without_rule(server, kind, meta, index):
    """Remove one rule from the live Role or ClusterRole, as an admin would edit it."""
    path = server.path("roles" if kind == "Role" else "clusterroles", meta.get("namespace"), meta["name"])
    role = server.request("GET", path)
    removed = role["rules"].pop(index)
    server.request("PUT", path, role)
    wait_for_authorizer(lambda: settled(server, [(kind, meta, index, removed)], False), "rule %s removed" % removed)
    server.reset_counts()
    return removed


def test_site_succeeds_with_exactly_the_documented_rules(apiserver, restricted, tmp_path):
    result = site(restricted, tmp_path, AFTER)
    assert result.rc == 0, failure_messages(result)
    log = apiserver.requests_of(USER)
    assert log, "the run did not authenticate as %s" % USER
    assert [r for r in log if r["status"] == 403] == []
    used = set((r["group"], r["plural"], r["verb"]) for r in log if r["verb"] not in ("discovery", "other"))
    # every write kind happened, so the runs below prove each rule is needed
    assert set(verb for _group, _plural, verb in used) >= set(WRITES)
    assert granted(entry[-1] for entry in RULES) - used == UNUSED_GRANTS
    # no request of the run came from another identity
    assert apiserver.counts()["requests"] == len(log)


# One rule per way a refusal reaches the user, to save CI time: the first read of the
# gateway, the mesh ConfigMap, the modules' LIST before any write, the first write (the
# ApplySet parent's create), a refusal after writes (VirtualServices come last).
COVERED = ("deployments-get-list", "configmaps-get-patch", "serviceentries-get-list-create-update-delete", "configmaps-create",
           "virtualservices-get-list-create-update-delete")


def rule_id(rule):
    return "-".join(rule["resources"][:1] + rule["verbs"])


CASES = [entry for entry in RULES if rule_id(entry[3]) in COVERED]


def test_the_cases_cover_every_kind_of_rule():
    # the skipped rules (the gateway Service, the parent's get/update, AuthorizationPolicies)
    # fail the same ways as covered ones
    assert len(CASES) == len(COVERED) and len(RULES) - len(CASES) == 3
    # no cluster-wide right
    assert {kind for kind, _meta, _index, _rule in RULES} == {"Role"}


@pytest.mark.parametrize("case", CASES, ids=[rule_id(c[3]) for c in CASES])
def test_without_one_rule_the_run_fails_naming_the_missing_right(apiserver, restricted, tmp_path, case):
    kind, meta, index, _rule = case
    missing = without_rule(apiserver, kind, meta, index)

    result = site(restricted, tmp_path, AFTER)

    assert result.rc != 0
    log = apiserver.requests_of(USER)
    [first] = [r for r in log if r["status"] == 403][:1]
    assert (first["group"], first["plural"], first["verb"]) in granted([missing])
    # kubernetes.core's exception dumps escape the server's quotes
    text = "\n".join(failure_messages(result)).replace('\\"', '"')
    assert "403" in text and 'cannot %s resource "%s"' % (first["verb"], first["plural"]) in text, text
    if first["plural"] not in KUBERNETES_CORE_READS:
        scope = "namespace " + first["namespace"] if first["namespace"] else "all namespaces"
        assert "forbidden: the credentials lack %s on %s.%s in %s" % (
            first["verb"], first["plural"], first["group"], scope) in text, text
    # nothing is written after the refusal, and nothing at all when it came first
    writes_before = sum(1 for r in log[:log.index(first)] if r["verb"] in WRITES and r["status"] < 400 and not r["dry_run"])
    assert apiserver.counts(user=USER)["writes"] == writes_before
