"""An owner set as an ApplySet (KEP-3659): the parent's id, labels and annotations, what it records."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._applyset import (
    GROUP_KINDS_ANNOTATION, ID_LABEL, NAMESPACES_ANNOTATION, PART_OF_LABEL, TOOLING_ANNOTATION, applyset_id, group_kind,
    parent, parent_differs, parent_name, recorded_scopes, with_part_of)

SCOPES = [("networking.istio.io/v1", "ServiceEntry", "istio-system"), ("networking.istio.io/v1", "Gateway", "istio-system"),
          ("security.istio.io/v1", "AuthorizationPolicy", "egress"), ("networking.k8s.io/v1", "NetworkPolicy", "payments"),
          ("networking.k8s.io/v1", "NetworkPolicy", "shop")]


def test_the_id_is_kubectls():
    # kubectl's ApplySet id of ConfigMap "parent" in "ns" (base64url of sha256("parent.ns.ConfigMap."), no padding).
    import base64
    import hashlib
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"parent.ns.ConfigMap.").digest()).decode().rstrip("=")
    assert applyset_id("parent", "ns") == "applyset-%s-v1" % expected
    assert len(applyset_id("parent", "ns")) <= 63  # a label value


@pytest.mark.parametrize("api_version,kind,expected", [
    ("networking.istio.io/v1", "ServiceEntry", "ServiceEntry.networking.istio.io"),
    ("v1", "ConfigMap", "ConfigMap"),
    ("apps/v1", "Deployment", "Deployment.apps"),
])
def test_group_kind(api_version, kind, expected):
    assert group_kind(api_version, kind) == expected


def test_the_parent_carries_the_standard_annotations_and_our_exact_scopes():
    body = parent("p", "istio-system", "cluster-a", SCOPES)
    metadata = body["metadata"]
    assert (body["kind"], metadata["namespace"]) == ("ConfigMap", "istio-system")
    assert metadata["labels"][ID_LABEL] == applyset_id("p", "istio-system")
    assert metadata["labels"]["egress.meshops.io/owner"] == "cluster-a"
    assert metadata["annotations"][TOOLING_ANNOTATION].startswith("meshops.istio_egress/")
    assert metadata["annotations"][GROUP_KINDS_ANNOTATION] == (
        "AuthorizationPolicy.security.istio.io,Gateway.networking.istio.io,NetworkPolicy.networking.k8s.io,ServiceEntry.networking.istio.io")
    # the parent's own namespace is implied
    assert metadata["annotations"][NAMESPACES_ANNOTATION] == "egress,payments,shop"
    assert recorded_scopes(body) == sorted(SCOPES, key=lambda s: (s[0], s[1], s[2]))


@pytest.mark.parametrize("live,expected", [
    (None, None),
    ({"metadata": {}}, []),
    ({"metadata": {"annotations": {"egress.meshops.io/applyset-scopes": "not json"}}}, []),
    ({"metadata": {"annotations": {"egress.meshops.io/applyset-scopes": '[["v1","Sidecar",""]]'}}}, [("v1", "Sidecar", None)]),
])
def test_recorded_scopes(live, expected):
    assert recorded_scopes(live) == expected


def test_parent_differs_only_on_our_labels_and_annotations():
    wanted = parent("p", "ns", "o", SCOPES[:1])
    assert parent_differs(None, wanted)
    live = parent("p", "ns", "o", SCOPES[:1])
    live["metadata"]["labels"]["team"] = "x"
    live["metadata"]["resourceVersion"] = "7"
    assert not parent_differs(live, wanted)
    assert parent_differs(live, parent("p", "ns", "o", SCOPES[:2]))


def test_members_and_names():
    member = with_part_of({"metadata": {"name": "a", "labels": {"x": "y"}}}, "applyset-abc-v1")
    assert member["metadata"]["labels"] == {"x": "y", PART_OF_LABEL: "applyset-abc-v1"}
    assert parent_name("Cluster_A.eu", "hosts") == "meshops-egress-hosts-cluster-a-eu"
