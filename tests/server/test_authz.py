"""Per-token RBAC allow-lists: which requests pass, and the 403 kube-apiserver answers otherwise."""
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client import ApiException

from _helpers import status_of
from k8s_server.authz import Authorizer, rules_from_manifests

ROOT = Path(__file__).resolve().parents[2]
USER = "system:serviceaccount:ci:deployer"


def entry(verb, plural, group="", namespace=None, name=None, subresource=None):
    return {"verb": verb, "plural": plural, "group": group, "namespace": namespace, "name": name,
            "subresource": subresource}


RULES = [
    {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["istio"], "verbs": ["get", "patch"],
     "namespace": "istio-system"},
    {"apiGroups": ["networking.istio.io"], "resources": ["serviceentries", "gateways"], "verbs": ["list", "create"],
     "namespace": "istio-system"},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"], "namespace": "team"},
]


@pytest.mark.parametrize("request_entry,allowed", [
    (entry("get", "configmaps", namespace="istio-system", name="istio"), True),
    (entry("patch", "configmaps", namespace="istio-system", name="istio"), True),
    (entry("get", "configmaps", namespace="istio-system", name="other"), False),    # resourceNames
    (entry("list", "configmaps", namespace="istio-system"), False),                 # no name: resourceNames never match
    (entry("get", "configmaps", namespace="default", name="istio"), False),         # bound to istio-system only
    (entry("list", "serviceentries", "networking.istio.io", "istio-system"), True),
    (entry("create", "gateways", "networking.istio.io", "istio-system"), True),
    (entry("update", "gateways", "networking.istio.io", "istio-system", "g"), False),
    (entry("list", "serviceentries", "networking.istio.io", None), False),           # across namespaces needs a cluster grant
    (entry("list", "serviceentries", "security.istio.io", "istio-system"), False),  # another group
    (entry("list", "networkpolicies", "networking.k8s.io", None), True),            # cluster-wide grant: any scope
    (entry("list", "networkpolicies", "networking.k8s.io", "a"), True),
    (entry("get", "pods", namespace="a", name="p", subresource="log"), True),
    (entry("get", "pods", namespace="a", name="p"), False),                         # the subresource grant is not the pod
    (entry("delete", "deployments", "apps", "team", "d"), True),                     # wildcards
    (entry("delete", "deployments", "apps", "prod", "d"), False),
    (entry("discovery", None, None), True),                                         # system:discovery
])
def test_rules_allow_exactly_what_they_list(request_entry, allowed):
    assert Authorizer(RULES, USER).allows(request_entry) is allowed


@pytest.mark.parametrize("request_entry,message", [
    (entry("list", "serviceentries", "networking.istio.io", "istio-system"),
     'serviceentries.networking.istio.io is forbidden: User "%s" cannot list resource "serviceentries" '
     'in API group "networking.istio.io" in the namespace "istio-system"' % USER),
    (entry("get", "configmaps", namespace="istio-system", name="istio"),
     'configmaps "istio" is forbidden: User "%s" cannot get resource "configmaps" in API group "" '
     'in the namespace "istio-system"' % USER),
    (entry("list", "networkpolicies", "networking.k8s.io"),
     'networkpolicies.networking.k8s.io is forbidden: User "%s" cannot list resource "networkpolicies" '
     'in API group "networking.k8s.io" at the cluster scope' % USER),
    (entry("get", "pods", namespace="a", name="p", subresource="log"),
     'pods "p" is forbidden: User "%s" cannot get resource "pods/log" in API group "" in the namespace "a"' % USER),
])
def test_denials_read_like_kube_apiserver(request_entry, message):
    with pytest.raises(Exception) as error:
        Authorizer([], USER).check(request_entry)
    assert (error.value.code, error.value.reason, error.value.message) == (403, "Forbidden", message)


def test_rules_come_from_the_repositorys_rbac_file():
    rules, user = rules_from_manifests((ROOT / "docs" / "rbac.yaml").read_text())
    assert user == "system:serviceaccount:istio-system:meshops-istio-egress"
    authorizer = Authorizer(rules, user)
    # the Role holds in its RoleBinding's namespace only, the ClusterRole everywhere
    assert authorizer.allows(entry("create", "serviceentries", "networking.istio.io", "istio-system"))
    assert not authorizer.allows(entry("create", "serviceentries", "networking.istio.io", "default"))
    assert authorizer.allows(entry("list", "networkpolicies", "networking.k8s.io"))
    assert not authorizer.allows(entry("create", "networkpolicies", "networking.k8s.io", "istio-system"))


def test_a_binding_without_its_role_is_an_error():
    text = """
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b, namespace: x}
roleRef: {kind: Role, name: missing, apiGroup: rbac.authorization.k8s.io}
subjects: [{kind: ServiceAccount, name: sa, namespace: x}]
"""
    with pytest.raises(ValueError, match="refers to Role missing"):
        rules_from_manifests(text)


def test_a_restricted_token_gets_403_through_the_real_client(k8s_server_bare):
    k8s_server_bare.create_namespace("istio-system")
    k8s_server_bare.require_token("sa-token", rules=[
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "create"], "namespace": "istio-system"}],
        user=USER)
    api = client.CoreV1Api(config.new_client_from_config(config_file=k8s_server_bare.kubeconfig))
    assert api.list_namespaced_config_map("istio-system").items is not None
    api.create_namespaced_config_map("istio-system", {"metadata": {"name": "c"}, "data": {"a": "b"}})
    with pytest.raises(ApiException) as error:
        api.delete_namespaced_config_map("c", "istio-system")
    assert status_of(error.value) == (403, "Forbidden", 'configmaps "c" is forbidden: User "%s" cannot delete resource '
                                      '"configmaps" in API group "" in the namespace "istio-system"' % USER)
    with pytest.raises(ApiException) as error:
        api.list_namespaced_config_map("default")
    assert status_of(error.value)[0] == 403
    # discovery stays open, as system:discovery grants it
    assert client.CoreApi(api.api_client).get_api_versions().versions == ["v1"]
    forbidden = [r for r in k8s_server_bare.requests if r["status"] == 403]
    assert [(r["verb"], r["namespace"]) for r in forbidden] == [("delete", "istio-system"), ("list", "default")]


def test_rules_from_a_list_document():
    text = """
apiVersion: v1
kind: List
items:
  - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r},
     rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}
  - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: b},
     roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r},
     subjects: [{kind: ServiceAccount, name: sa, namespace: ns}]}
"""
    rules, user = rules_from_manifests(text)
    assert user == "system:serviceaccount:ns:sa"
    assert rules == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
