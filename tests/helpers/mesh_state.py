"""site.yml runs and what they leave in the cluster, for the reliability tests
(faults, concurrency, RBAC): the state compared between runs, duplicate
checks, and another team's objects that must survive untouched."""
from collections import Counter

from ansible_collections.meshops.istio_egress.plugins.module_utils._naming import virtual_service_name

from helpers.inventory import write_inventory
from helpers.playbook import run_playbook

SITE = "meshops.istio_egress.site"
NS = "istio-system"
ISTIO_PLURALS = ("serviceentries", "gateways", "destinationrules", "virtualservices", "authorizationpolicies")
OWNER_LABEL = "egress.meshops.io/owner"
HOSTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
]
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")

# Another team's route in the VirtualService the collection shares for httpbin.org.
TEAM_ROUTE = {"name": "team-status-retries", "match": [{"uri": {"prefix": "/status"}}], "retries": {"attempts": 3},
              "route": [{"destination": {"host": "httpbin.org"}}]}
TEAM_SERVICE_ENTRY = {
    "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
    "metadata": {"name": "api-github-com-by-hand", "namespace": NS},
    "spec": {"hosts": ["api.github.com"], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
             "resolution": "DNS", "location": "MESH_EXTERNAL"},
}


def site(server, directory, hosts, owner="cluster-a", env=None, check=False, kubeconfig=None, **host_vars):
    """One ansible-playbook run of site.yml for one cluster (owner = inventory hostname),
    with ``server.kubeconfig`` unless ``kubeconfig`` is given (the fault proxy's, say)."""
    directory.mkdir(parents=True, exist_ok=True)
    inventory = write_inventory(directory, {owner: dict({"external_services_hosts": hosts}, **host_vars)})
    return run_playbook(SITE, inventory=inventory, kubeconfig=kubeconfig or server.kubeconfig, env=env, check=check)


def failure_messages(result):
    return [str(outcome.get("msg")) for _task, _host, outcome in result.task_results() if outcome.get("failed")]


def seed_team_objects(server):
    """An unlabelled ServiceEntry and a VirtualService with a team route, under
    the name the collection uses for httpbin.org; returns them as stored."""
    virtual_service = {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": virtual_service_name("httpbin.org"), "namespace": NS, "labels": {"team": "payments"}},
        "spec": {"hosts": ["httpbin.org"], "http": [TEAM_ROUTE]},
    }
    server.request("POST", "/apis/networking.istio.io/v1/namespaces/%s/virtualservices" % NS, virtual_service)
    server.request("POST", "/apis/networking.istio.io/v1/namespaces/%s/serviceentries" % NS, TEAM_SERVICE_ENTRY)
    return team_objects(server)


def team_objects(server):
    """The team's ServiceEntry (whole) and its route in the shared VirtualService."""
    [entry] = [o for o in server.objects("serviceentries", NS) if o["metadata"]["name"] == TEAM_SERVICE_ENTRY["metadata"]["name"]]
    [shared] = [o for o in server.objects("virtualservices", NS) if o["metadata"]["name"] == virtual_service_name("httpbin.org")]
    routes = [r for r in shared["spec"].get("http", []) if r.get("name") == TEAM_ROUTE["name"]]
    return {"service_entry": entry, "team_routes": routes, "team_labels": shared["metadata"].get("labels")}


def without_server_fields(obj):
    """``obj`` without the metadata the API server sets on each write (uid,
    resourceVersion, generation, creationTimestamp, managedFields)."""
    return dict(obj, metadata=dict((k, v) for k, v in obj["metadata"].items() if k not in _SERVER_FIELDS))


def state(server, namespace=NS):
    """Every Istio object in ``namespace`` without server-set metadata:
    {plural: {name: object}}; equal for two runs that converged the same
    inventory from the same start, whatever happened on the way."""
    return dict((plural, dict((obj["metadata"]["name"], without_server_fields(obj))
                              for obj in server.objects(plural, namespace)))
                for plural in ISTIO_PLURALS)


def duplicates(server, namespace=NS):
    """What would show a write applied twice: two objects of one owner for one
    host, or a route name twice in a VirtualService."""
    problems = []
    per_owner_host = Counter((o["metadata"].get("labels", {}).get(OWNER_LABEL), h)
                             for o in server.objects("serviceentries", namespace)
                             for h in o["spec"]["hosts"] if OWNER_LABEL in o["metadata"].get("labels", {}))
    problems += ["ServiceEntry for %s twice (owner %s)" % (host, owner) for (owner, host), n in per_owner_host.items() if n > 1]
    for obj in server.objects("virtualservices", namespace):
        names = Counter(r.get("name") for r in obj["spec"].get("http", []) if r.get("name"))
        problems += ["route %s twice in %s" % (name, obj["metadata"]["name"]) for name, n in names.items() if n > 1]
        for field in ("hosts", "gateways"):
            values = obj["spec"].get(field, [])
            if len(values) != len(set(values)):
                problems.append("%s repeats in %s: %s" % (field, obj["metadata"]["name"], values))
    return problems
