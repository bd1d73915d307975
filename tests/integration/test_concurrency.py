"""Eight owners run site.yml at the same moment against one cluster, sharing
hosts and therefore VirtualServices; then one owner prunes. Nobody's routes
or objects are lost, and the prune touches only its owner's."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers.cluster import install_istio
from helpers.mesh_state import NS, OWNER_LABEL, TEAM_ROUTE, duplicates, failure_messages, seed_team_objects, site, team_objects

OWNERS = ["owner-%d" % index for index in range(8)]
SHARED = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
]
RECORDS = "egress.meshops.io/routes"


def hosts_of(owner):
    return SHARED + [{"host": "%s.example.com" % owner}]


def records(virtual_service):
    return json.loads(virtual_service["metadata"].get("annotations", {}).get(RECORDS, "{}"))


def route_ids(virtual_service):
    """Identities of the routes in a VirtualService: HTTP by name, TLS/TCP by match."""
    spec = virtual_service["spec"]
    return ([("http", r["name"]) for r in spec.get("http", []) if r.get("name")]
            + [(kind, json.dumps(r["match"], sort_keys=True)) for kind in ("tls", "tcp") for r in spec.get(kind, [])])


def shared_virtual_services(server):
    return dict((h, o) for o in server.objects("virtualservices", NS) for h in o["spec"]["hosts"] if h in ("httpbin.org", "edition.cnn.com"))


def owned(server, owner):
    """This owner's labelled objects, with their resourceVersions."""
    return sorted((o["kind"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
                  for plural in ("serviceentries", "gateways", "destinationrules")
                  for o in server.objects(plural, NS) if o["metadata"].get("labels", {}).get(OWNER_LABEL) == owner)


@pytest.fixture
def cluster(apiserver):
    install_istio(apiserver)
    return apiserver


def test_eight_owners_at_once_then_one_prunes(cluster, tmp_path):
    team = seed_team_objects(cluster)
    with ThreadPoolExecutor(len(OWNERS)) as pool:
        runs = dict(zip(OWNERS, pool.map(lambda owner: site(cluster, tmp_path / owner, hosts_of(owner), owner=owner), OWNERS)))
    assert dict((o, r.rc) for o, r in runs.items()) == dict((o, 0) for o in OWNERS), \
        dict((o, failure_messages(r)) for o, r in runs.items() if r.rc)

    conflicts = sum(1 for r in cluster.requests if r["plural"] == "virtualservices" and r["status"] == 409)
    print("8 owners at once: %d VirtualService writes refused with 409 and retried" % conflicts)
    assert duplicates(cluster) == []
    assert team_objects(cluster) == team
    for owner in OWNERS:
        kinds = [kind for kind, _name, _rv in owned(cluster, owner)]
        assert sorted(kinds) == ["DestinationRule", "Gateway"] + ["ServiceEntry"] * 3, owner
    shared = shared_virtual_services(cluster)
    for host, virtual_service in shared.items():
        recorded = records(virtual_service)
        assert sorted(recorded) == OWNERS, host
        present = set(route_ids(virtual_service))
        for owner, routes in recorded.items():
            assert routes and all(("http", name) in present for name in routes.get("http", [])), (host, owner)
    assert TEAM_ROUTE in shared["httpbin.org"]["spec"]["http"]

    # owner-3 drops the shared hosts: only its objects and routes go
    pruner = "owner-3"
    others_before = dict((owner, owned(cluster, owner)) for owner in OWNERS if owner != pruner)
    routes_before = dict((host, records(vs)) for host, vs in shared.items())
    result = site(cluster, tmp_path / pruner, [{"host": "%s.example.com" % pruner}], owner=pruner)
    assert result.rc == 0, failure_messages(result)

    assert dict((owner, owned(cluster, owner)) for owner in others_before) == others_before
    assert [kind for kind, _name, _rv in owned(cluster, pruner)] == ["DestinationRule", "Gateway", "ServiceEntry"]
    for host, virtual_service in shared_virtual_services(cluster).items():
        recorded = records(virtual_service)
        expected = dict((owner, routes) for owner, routes in routes_before[host].items() if owner != pruner)
        assert recorded == expected, host
        present = set(route_ids(virtual_service))
        assert all(("http", name) in present for routes in expected.values() for name in routes.get("http", []))
        assert not any(("http", name) in present for name in routes_before[host][pruner].get("http", []))
    assert team_objects(cluster) == team
    assert duplicates(cluster) == []
