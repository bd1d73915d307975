"""Structural-schema features beyond what Istio's CRDs exercise, and the
standalone schema module used by unit tests."""
import pytest
from kubernetes import client

from _helpers import status_of, virtual_service
from k8s_server.fixtures import ISTIO_CRDS
from k8s_server.schema import load_crds

GADGET_SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
    "size": {"type": "integer", "minimum": 1, "x-kubernetes-validations": [
        {"rule": "self >= oldSelf", "message": "size may not shrink"}]},
    "port": {"x-kubernetes-int-or-string": True},
    "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
    "note": {"type": "string", "nullable": True},
    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
}}}}


@pytest.fixture
def gadgets(k8s_server_bare):
    k8s_server_bare.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "gadgets", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": GADGET_SCHEMA}}]}})
    api = client.CustomObjectsApi(k8s_server_bare.client())
    args = ("example.com", "v1", "default", "gadgets")

    def write(name, spec, replace=False):
        body = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": spec}
        if replace:
            return api.patch_namespaced_custom_object(*args, name, body)
        return api.create_namespaced_custom_object(*args, body)
    return write


def test_defaults_nullable_int_or_string_and_preserved_fields(gadgets):
    created = gadgets("g", {"size": 2, "port": "http", "note": None, "extra": {"any": {"thing": [1]}},
                            "labels": {"k": "abc"}})
    assert created["spec"] == {"size": 2, "port": "http", "mode": "a", "note": None,
                               "extra": {"any": {"thing": [1]}}, "labels": {"k": "abc"}}


def test_value_validations(gadgets):
    with pytest.raises(client.ApiException) as error:
        gadgets("bad", {"size": 0, "mode": "c", "port": 1.5, "labels": {"k": "long"}})
    message = status_of(error.value)[2]
    assert "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1" in message
    assert 'spec.mode: Unsupported value: "c": supported values: "a", "b"' in message
    assert "spec.labels.k: Too long: may not be more than 3 bytes" in message
    assert 'spec.port in body must be of type integer,string: "number"' in message
    with pytest.raises(client.ApiException) as error:
        gadgets("missing", {})
    assert "spec.size: Required value" in status_of(error.value)[2]


def test_transition_rules_see_the_old_object(gadgets):
    gadgets("t", {"size": 3})
    assert gadgets("t", {"size": 4}, replace=True)["spec"]["size"] == 4
    with pytest.raises(client.ApiException) as error:
        gadgets("t", {"size": 1}, replace=True)
    assert 'spec.size: Invalid value: "integer": size may not shrink' in status_of(error.value)[2]


@pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason="Istio CRD bundle not found")
def test_standalone_index_validates_and_prunes():
    index = load_crds(str(ISTIO_CRDS))
    typo = virtual_service("x", {"hosts": ["a"], "http": [{"match": [{"gateway": "g"}],
                                                           "route": [{"destination": {"host": "a"}}]}]})
    assert index.validate(typo) == ['unknown field "spec.http[0].match[0].gateway"']
    assert index.validate(typo, strict=False) == []
    assert index.prune(typo)["spec"]["http"][0]["match"] == [{}]
    assert index.validate(dict(typo, kind="Nope")) == [
        'no matches for kind "Nope" in version "networking.istio.io/v1"']
    assert index.rule_coverage()["skipped"] == 0
