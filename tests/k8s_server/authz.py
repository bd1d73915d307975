"""RBAC for the one token the server accepts: an allow-list of PolicyRules.

Rules are RBAC ``PolicyRule`` dicts (``apiGroups``, ``resources``, ``verbs``,
optional ``resourceNames``); a test-server extension ``namespace`` key binds a
rule to one namespace (what a RoleBinding does), without it the rule holds in
every namespace and at the cluster scope (a ClusterRoleBinding).
``rules_from_manifests`` reads them from Role/ClusterRole + binding
documents, so tests can run against a repository's real RBAC file.

Discovery stays allowed to everyone, as the ``system:discovery`` role grants.
A request no rule allows is answered 403 in kube-apiserver's words.
"""
import yaml

from .errors import ApiError

_BINDINGS = {"RoleBinding": "Role", "ClusterRoleBinding": "ClusterRole"}


def _has(values, value):
    return "*" in values or value in values


class Authorizer:
    def __init__(self, rules, user):
        self.rules = [dict(rule) for rule in rules]
        self.user = user

    def allows(self, entry):
        """Whether a request (a request-log record, see README) is allowed."""
        if entry["verb"] in ("discovery", "other"):
            return True
        resource = entry["plural"] + ("/" + entry["subresource"] if entry.get("subresource") else "")
        for rule in self.rules:
            if rule.get("namespace") is not None and rule["namespace"] != entry["namespace"]:
                continue
            if not (_has(rule.get("apiGroups") or [], entry["group"] or "") and _has(rule.get("resources") or [], resource)
                    and _has(rule.get("verbs") or [], entry["verb"])):
                continue
            names = rule.get("resourceNames") or []
            if names and entry["name"] not in names:
                continue
            return True
        return False

    def check(self, entry):
        """Raise the 403 kube-apiserver answers when no rule allows ``entry``."""
        if not self.allows(entry):
            raise forbidden(entry, self.user)


def forbidden(entry, user):
    group, plural, name = entry["group"] or "", entry["plural"], entry["name"]
    resource = plural + ("/" + entry["subresource"] if entry.get("subresource") else "")
    qualified = "%s.%s" % (plural, group) if group else plural
    where = 'in the namespace "%s"' % entry["namespace"] if entry["namespace"] else "at the cluster scope"
    why = 'User "%s" cannot %s resource "%s" in API group "%s" %s' % (user, entry["verb"], resource, group, where)
    subject = '%s "%s"' % (qualified, name) if name else qualified
    details = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", "%s is forbidden: %s" % (subject, why), details)


def _user(subject):
    if subject["kind"] == "ServiceAccount":
        return "system:serviceaccount:%s:%s" % (subject.get("namespace"), subject["name"])
    return subject["name"]


def rules_from_manifests(text, subject=None):
    """(rules, user) that the Role/ClusterRole and binding documents of
    ``text`` (YAML) grant to ``subject`` (a ServiceAccount as
    ``namespace:name``; by default the first subject of the first binding)."""
    documents = []
    for doc in yaml.safe_load_all(text):
        # A `kind: List` (what kubectl apply takes as one document) holds its objects under items.
        documents.extend((doc.get("items") or []) if doc and doc.get("kind") == "List" else [doc] if doc else [])
    roles = dict(((doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"]), doc)
                 for doc in documents if doc["kind"] in _BINDINGS.values())
    bindings = [doc for doc in documents if doc["kind"] in _BINDINGS]
    if subject is not None:
        user = "system:serviceaccount:" + subject
    elif bindings and bindings[0].get("subjects"):
        user = _user(bindings[0]["subjects"][0])
    else:
        raise ValueError("the documents bind no role to anyone")
    rules = []
    for binding in bindings:
        if user not in [_user(who) for who in binding.get("subjects") or []]:
            continue
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role = roles.get((ref["kind"], namespace if ref["kind"] == "Role" else None, ref["name"]))
        if role is None:
            raise ValueError("%s %s refers to %s %s, which the documents do not define"
                             % (binding["kind"], binding["metadata"]["name"], ref["kind"], ref["name"]))
        for rule in role.get("rules") or []:
            rules.append(dict(rule, namespace=namespace) if namespace else dict(rule))
    return rules, user
