"""Credentials the API server itself checks: ServiceAccount tokens and what RBAC answers."""
from control_plane.processes import wait_until

SERVICE_ACCOUNTS = "system:serviceaccounts"


def service_account_user(namespace, name):
    return "system:serviceaccount:%s:%s" % (namespace, name)


def allowed(server, user, groups, verb, group, resource, namespace=None, name=None):
    """What the API server's authorizer answers now for ``user`` (a SubjectAccessReview)."""
    attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace or "", "name": name or ""}
    review = server.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": list(groups), "resourceAttributes": attributes}})
    return review["status"].get("allowed", False)


def service_account_groups(namespace):
    return [SERVICE_ACCOUNTS, "%s:%s" % (SERVICE_ACCOUNTS, namespace), "system:authenticated"]


def wait_for_authorizer(check, what, timeout=10):
    """RBAC objects reach the authorizer through its informers, a moment after they are written."""
    wait_until(check, timeout, "the authorizer to settle: " + what)


def cluster_admin_token(server, namespace="istio-system", name="awx-job"):
    """A ServiceAccount bound to cluster-admin and a token for it from the TokenRequest API: what
    an AWX "OpenShift or Kubernetes API Bearer Token" credential holds. Returns (token, user)."""
    server.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    server.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "%s-%s-cluster-admin" % (namespace, name)},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]})
    user = service_account_user(namespace, name)
    wait_for_authorizer(lambda: allowed(server, user, service_account_groups(namespace), "patch", "", "configmaps", namespace),
                        "%s bound to cluster-admin" % user)
    return server.service_account_token(namespace, name), user
