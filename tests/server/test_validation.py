"""Schema, strict-field, CEL and dry-run behaviour of writes."""
import json

import pytest
from kubernetes import client
from kubernetes.dynamic.exceptions import DynamicApiError

from _helpers import status_of, virtual_service

VS = ("networking.istio.io", "v1", "default", "virtualservices")
SE = ("networking.istio.io", "v1", "default", "serviceentries")
TYPO = {"hosts": ["a.example.com"],
        "http": [{"match": [{"gateway": "mesh"}], "route": [{"destination": {"host": "a"}}]}]}


def service_entry(name, spec):
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": name},
            "spec": spec}


def create_error(custom, plural_args, body, **options):
    with pytest.raises(client.ApiException) as error:
        custom.create_namespaced_custom_object(*plural_args, body, **options)
    return status_of(error.value)


def test_strict_field_validation_rejects_the_gateway_typo(custom, k8s_server):
    code, reason, message = create_error(custom, VS, virtual_service("typo", TYPO), field_validation="Strict")
    assert (code, reason) == (400, "BadRequest")
    assert message == 'strict decoding error: unknown field "spec.http[0].match[0].gateway"'
    assert k8s_server.objects("virtualservices") == []


def test_default_validation_prunes_with_a_warning(dynamic):
    resource = dynamic.resources.get(api_version="networking.istio.io/v1", kind="VirtualService")
    response = resource.create(body=virtual_service("typo", TYPO), namespace="default", serialize=False)
    assert response.headers["Warning"] == '299 - "unknown field \\"spec.http[0].match[0].gateway\\""'
    assert json.loads(response.data)["spec"]["http"][0]["match"] == [{}]
    quiet = resource.create(body=virtual_service("quiet", TYPO), namespace="default", serialize=False,
                            query_params=[("fieldValidation", "Ignore")])
    assert "Warning" not in quiet.headers


def test_wrong_types_are_invalid_with_field_paths(custom):
    code, reason, message = create_error(custom, VS, virtual_service("t", {"hosts": "a.example.com"}))
    assert (code, reason) == (422, "Invalid")
    assert message.startswith('VirtualService.networking.istio.io "t" is invalid: [spec.hosts: Invalid value: '
                              '"string": spec.hosts in body must be of type array: "string"')
    body = virtual_service("n", {"hosts": ["a"], "http": [{"route": [{"destination": {
        "host": "a", "port": {"number": "eighty"}}}]}]})
    assert "spec.http[0].route[0].destination.port.number in body must be of type integer" in \
        create_error(custom, VS, body)[2]


def test_wrong_kind_and_api_version(custom):
    body = dict(virtual_service("k"), kind="Gateway")
    assert create_error(custom, VS, body)[:2] == (422, "Invalid")
    body = dict(virtual_service("v"), apiVersion="networking.istio.io/v1beta1")
    code, _reason, message = create_error(custom, VS, body)
    assert code == 400 and "does not match the expected API version (networking.istio.io/v1)" in message


def test_one_of_alternatives_are_exclusive(custom):
    body = virtual_service("o", {"hosts": ["a"], "http": [{"match": [{"uri": {"exact": "/a", "prefix": "/"}}],
                                                           "route": [{"destination": {"host": "a"}}]}]})
    assert "must validate one and only one schema (oneOf). Found 2 valid alternatives" in \
        create_error(custom, VS, body)[2]


def test_cel_rules_of_istio_are_enforced(custom):
    code, _reason, message = create_error(custom, SE, service_entry("w", {"hosts": ["*"], "resolution": "DNS",
                                                                    "ports": [{"number": 80, "name": "http"}]}))
    assert code == 422 and 'spec.hosts[0]: Invalid value: "string": hostname cannot be wildcard' in message
    message = create_error(custom, SE, service_entry("e", {"hosts": ["a.example.com"], "resolution": "NONE",
                                                           "endpoints": [{"address": "1.1.1.1"}]}))[2]
    assert 'spec: Invalid value: "object": NONE mode cannot set endpoints' in message
    timeout = virtual_service("d", {"hosts": ["a"], "http": [{"timeout": "1d", "route": [
        {"destination": {"host": "a"}}]}]})
    assert "spec.http[0].timeout" in create_error(custom, VS, timeout)[2]
    valid = service_entry("ok", {"hosts": ["a.example.com"], "resolution": "DNS",
                                 "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]})
    custom.create_namespaced_custom_object(*SE, valid)


def test_cel_rules_wait_for_a_structurally_valid_object(custom):
    message = create_error(custom, SE, service_entry("b", {"hosts": ["*"], "ports": "80"}))[2]
    assert "some validation rules were not checked" in message and "wildcard" not in message


def test_every_istio_rule_is_evaluated(k8s_server):
    coverage = k8s_server.cel_rule_coverage()
    assert coverage["rules"] > 300 and coverage["skipped"] == 0
    assert k8s_server.cel_unsupported_rules == []


def test_unsupported_cel_rules_are_recorded_not_passed(k8s_server_bare):
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "quantity(self.size).isGreaterThan(quantity('1'))", "message": "too small"}],
        "properties": {"size": {"type": "string"}}}}}
    k8s_server_bare.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "things", "kind": "Thing"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]}})
    [record] = k8s_server_bare.cel_unsupported_rules
    assert record["kind"] == "Thing" and record["path"] == "spec" and "quantity" in record["reason"]
    assert k8s_server_bare.cel_rule_coverage() == {"rules": 1, "evaluated": 0, "skipped": 1}


def test_builtin_kinds_decode_like_go_structs(k8s_server_bare):
    with pytest.raises(client.ApiException) as error:
        k8s_server_bare.request("POST", "/api/v1/namespaces/default/configmaps",
                                {"metadata": {"name": "c"}, "data": {"n": 1}})
    assert status_of(error.value)[2] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                                         'unmarshal number into Go struct field ConfigMap.data of type string')


def test_builtin_strict_validation_and_names(k8s_server_bare):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {}}
    with pytest.raises(client.ApiException) as error:
        k8s_server_bare.request("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", body)
    assert status_of(error.value)[2] == 'strict decoding error: unknown field "spec"'
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "labels": {"a": "b c"}}}
    with pytest.raises(client.ApiException) as error:
        k8s_server_bare.request("POST", "/api/v1/namespaces/default/configmaps", body)
    code, _reason, message = status_of(error.value)
    assert code == 422 and message.startswith('ConfigMap "Bad_Name" is invalid: [metadata.name: Invalid value: '
                                              '"Bad_Name": a lowercase RFC 1123 subdomain')
    assert 'metadata.labels: Invalid value: "b c"' in message


def test_dry_run_validates_answers_and_stores_nothing(k8s_server, custom):
    answer = custom.create_namespaced_custom_object(*VS, virtual_service("dry"), dry_run="All")
    assert answer["metadata"]["name"] == "dry" and answer["metadata"]["uid"]
    assert k8s_server.objects("virtualservices") == []
    assert create_error(custom, VS, virtual_service("bad", {"hosts": 1}), dry_run="All")[0] == 422
    custom.create_namespaced_custom_object(*VS, virtual_service("real"))
    custom.patch_namespaced_custom_object(*VS, "real", {"spec": {"hosts": ["x"]}}, dry_run="All")
    custom.delete_namespaced_custom_object(*VS, "real", dry_run="All")
    assert k8s_server.objects("virtualservices")[0]["spec"]["hosts"] == ["real.example.com"]
    counts = k8s_server.counts()
    assert (counts["dry_run"], counts["create"], counts["writes"]) == (4, 1, 1)


def test_strategic_merge_patch_body_is_checked_for_unknown_fields(dynamic):
    deployments = dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.create(namespace="default", body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
            "containers": [{"name": "c", "image": "i:1", "resources": {"limits": {"cpu": 1}}}]}}}})
    with pytest.raises(DynamicApiError) as error:
        deployments.patch(name="d", namespace="default", body={"spec": {"replica": 2}},
                          query_params=[("fieldValidation", "Strict")])
    assert status_of(error.value)[2] == 'strict decoding error: unknown field "spec.replica"'
