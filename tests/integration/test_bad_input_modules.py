"""Bad input to the modules users call directly (virtual_service, object_set,
egress_hosts): every case fails naming the item and the field, and the
cluster sees no write.

One table, one playbook run (tests/helpers/batch.py and
playbooks/module_call.yml): each case is an inventory host with its own
identity on the control plane, Istio installed, calling one module with its
own arguments; a case with a set-up has a namespace of its own (NS).
"""
import pytest

from helpers.batch import ISTIO_CRDS, NS as OWN_NS, Case, assert_converged, assert_refused, outcomes_fixture

pytestmark = pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found at %s" % ISTIO_CRDS)

PLAYBOOK = __import__("pathlib").Path(__file__).resolve().parent / "playbooks" / "module_call.yml"
NS = "istio-system"
EGRESS = "istio-egressgateway.istio-system.svc.cluster.local"
TO_EGRESS = [{"destination": {"host": EGRESS, "subset": "httpbin", "port": {"number": 80}}}]


def route(**changes):
    return dict({"name": "eu1-mesh-80", "match": [{"gateways": ["mesh"], "port": 80}], "route": TO_EGRESS}, **changes)


def tls_route(**changes):
    return dict({"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": ["httpbin.org"]}], "route": TO_EGRESS}, **changes)


def vs(**args):
    base = {"name": "httpbin-org", "namespace": NS, "owner": "eu1", "hosts": ["httpbin.org"], "gateways": ["mesh"],
            "http": [route()]}
    base.update(args)
    return {"case_module": "virtual_service", "case_args": dict((k, v) for k, v in base.items() if v is not None)}


def config_map(name, namespace="default", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def object_set(*definitions, **args):
    return {"case_module": "object_set", "case_args": dict({"owner": "eu1", "definitions": list(definitions)}, **args)}


def egress_hosts(hosts, **args):
    return {"case_module": "egress_hosts", "case_args": dict({"owner": "eu1", "hosts": hosts}, **args)}


def garbled_virtual_service(server, namespace):
    server.create({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "httpbin-org", "namespace": namespace, "annotations": {"egress.meshops.io/routes": "[1, 2]"}},
        "spec": {"hosts": ["httpbin.org"], "http": [{"name": "team", "route": [{"destination": {"host": "httpbin.org"}}]}]}})


def foreign_config_map(server, namespace):
    server.create(config_map("settings-b", namespace, team="payments"))


CASES = [
    # virtual_service: the routes users write by hand
    Case("vs-match-gateway", vs(http=[route(match=[{"gateway": ["mesh"], "port": 80}])]),
         ("http[0].match[0]", "'gateway'", "did you mean 'gateways'")),
    Case("vs-route-no-name", vs(http=[route(name=None)]), ("http[0].name", "required")),
    Case("vs-destination-typo", vs(http=[route(route=[{"destinaton": {"host": EGRESS}}])]),
         ("http[0].route[0]", "'destinaton'", "destination")),
    Case("vs-destination-no-host", vs(http=[route(route=[{"destination": {"subset": "x"}}])]),
         ("http[0].route[0].destination.host", "required")),
    Case("vs-route-field-typo", vs(http=[route(retry={"attempts": 3})]), ("http[0]", "'retry'", "retries")),
    Case("vs-port-word", vs(http=[route(match=[{"gateways": ["mesh"], "port": "http"}])]),
         ("http[0].match[0].port", "'http'")),
    Case("vs-same-route-twice", vs(http=[route(), route()]), ("http[1]", "same identity", "http[0]")),
    Case("vs-tls-no-sni", vs(http=None, tls=[tls_route(match=[{"gateways": ["mesh"], "port": 443}])]),
         ("tls[0].match[0].sniHosts",)),
    Case("vs-tls-no-match", vs(http=None, tls=[{"route": TO_EGRESS}]), ("tls[0].match", "required")),
    Case("vs-hosts-empty", vs(hosts=[]), ("hosts:", "must not be empty")),
    Case("vs-no-routes", vs(http=None), ("at least one route", "state=absent")),
    Case("vs-bad-name", vs(name="httpbin_org"), ("name:", "'httpbin_org'")),
    Case("vs-bad-namespace", vs(namespace="Istio-System"), ("namespace:", "'Istio-System'")),
    Case("vs-bad-owner", vs(owner="team a"), ("owner:", "'team a'")),
    Case("vs-prune-single", vs(prune=True), ("prune:", "virtual_services")),
    Case("vs-retries-negative", vs(conflict_retries=-1), ("conflict_retries",)),
    Case("vs-batch-twice", {"case_module": "virtual_service", "case_args": {
        "owner": "eu1", "namespace": NS, "virtual_services": [
            {"name": "httpbin-org", "hosts": ["httpbin.org"], "http": [route()]},
            {"name": "httpbin-org", "hosts": ["httpbin.org"], "http": [route(name="eu1-mesh-8080")]}]}},
         ("virtual_services[1]", "httpbin-org", "twice")),
    Case("vs-batch-bad-route", {"case_module": "virtual_service", "case_args": {
        "owner": "eu1", "namespace": NS, "virtual_services": [
            {"name": "a-org", "hosts": ["a.org"], "http": [route()]},
            {"name": "httpbin-org", "hosts": ["httpbin.org"], "http": [route(match=[{"gateway": ["mesh"]}])]}]}},
         ("virtual_services[1]", "http[0].match[0]", "'gateway'")),
    Case("vs-garbled-record", vs(namespace=OWN_NS), ("httpbin-org", "egress.meshops.io/routes", "not a JSON object"),
         setup=garbled_virtual_service),
    # object_set: whole objects users pass
    Case("os-kind-typo", object_set({"apiVersion": "networking.istio.io/v1", "kind": "Destination",
                                     "metadata": {"name": "httpbin", "namespace": NS}, "spec": {"host": "httpbin.org"}}),
         ("definitions[0]", "kind:", "Destination", "did you mean DestinationRule")),
    Case("os-group-typo", object_set({"apiVersion": "networking.istio.io/v9", "kind": "DestinationRule",
                                      "metadata": {"name": "httpbin", "namespace": NS}, "spec": {"host": "httpbin.org"}}),
         ("definitions[0]", "kind:", "networking.istio.io/v9")),
    Case("os-no-kind", object_set(config_map("settings-a"), {"apiVersion": "v1", "metadata": {"name": "b"}}),
         ("definitions[1]", "missing kind")),
    Case("os-twice", object_set(config_map("settings-a"), config_map("settings-a", a="b")), ("definitions[1]", "definitions[0]")),
    Case("os-no-namespace", object_set(config_map("settings-a"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}),
         ("definitions[1]", "metadata.namespace", "required")),
    Case("os-bad-owner", object_set(config_map("settings-a"), owner="team a"), ("owner:", "'team a'")),
    Case("os-prune-scope-kind", object_set(config_map("settings-a"), prune=True,
                                           prune_scope=[{"api_version": "v1", "kind": "ConfigMaps", "namespace": "default"}]),
         ("prune_scope[0]", "kind:", "ConfigMaps", "did you mean ConfigMap")),
    Case("os-foreign-name", object_set(config_map("settings-a", OWN_NS), config_map("settings-b", OWN_NS)),
         ("ConfigMap/%s/settings-b" % OWN_NS, "not managed by this owner set"), setup=foreign_config_map),
    Case("os-strict-schema", object_set({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                                         "metadata": {"name": "httpbin", "namespace": NS},
                                         "spec": {"host": "httpbin.org", "trafficPolicy": {"tls": {"mode": "MUTUAL", "credentialname": "x"}}}}),
         ("DestinationRule", "httpbin", "spec.trafficPolicy.tls.credentialname")),
    # egress_hosts: the role's module, called directly
    Case("eh-bad-host", egress_hosts([{"host": "httpbin.org"}, {"host": "api..github.com"}]),
         ("\n- hosts[1]", "host:", "api..github.com")),
    Case("eh-setting-typo", egress_hosts([{"host": "httpbin.org"}], settings={"namespce": "egress"}),
         ("namespce", "unknown setting", "did you mean 'namespace'")),
    Case("eh-bad-owner", egress_hosts([{"host": "httpbin.org"}], owner="team a"), ("owner:", "'team a'")),
]


# Valid input in the same run (in a namespace of its own): it converges, and its writes are counted.
CONTROL = Case("control-valid-route", vs(namespace=OWN_NS), ())
outcomes = outcomes_fixture(PLAYBOOK, CASES + [CONTROL])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_module_input_fails_naming_item_and_field_and_writes_nothing(case, outcomes):
    assert_refused(case, outcomes[case.id])


def test_valid_module_input_in_the_same_run_converges(outcomes):
    assert_converged(outcomes[CONTROL.id])
