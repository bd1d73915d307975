"""The plan: one pure function from the host list and settings to errors,
warnings, normalised hosts, gateway ports and (valid input) the rendered
objects; site_plan adds the other roles' settings."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._plan import module_result, plan_hosts, site_plan
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import render
from helpers.role_vars import role_var

SETTINGS = {"owner": "eu1"}
HOSTS = [{"host": "httpbin.org"}, {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]},
         {"host": "db.example.com", "via_gateway": False, "ports": [{"number": 5432, "protocol": "TCP"}],
          "addresses": ["10.0.0.0/24"], "resolution": "NONE"}]
GATEWAY = {"name": "istio-egressgateway", "namespace": "istio-system", "selector": {"istio": "egressgateway"}}


@pytest.mark.parametrize("hosts, settings, kwargs, expected", [
    # (hosts, settings, plan_hosts options, fragments of the errors, in order)
    ([{"host": "a..b"}], SETTINGS, {}, ["hosts[0] (host 'a..b'): host:"]),
    ([{"host": "a..b"}], SETTINGS, {"hosts_name": "external_services_hosts"}, ["external_services_hosts[0] (host 'a..b'): host:"]),
    ([{"host": "x.org"}, {"host": "x.org"}], SETTINGS, {}, ["hosts[1] (host 'x.org'): host: 'x.org' is already declared at hosts[0]"]),
    ([{"host": "x.org"}], {"owner": "eu1", "namespce": "a"}, {}, ["namespce: unknown setting; known: api_version"]),
    ([{"host": "x.org"}], {"owner": "eu1", "namespace": "Bad"}, {"setting_names": {"namespace": "external_services_namespace"}},
     ["external_services_namespace: 'Bad'"]),
    # Items and settings first, all of them; the combinations only once those are valid.
    ([{"host": "a..b"}], {"owner": "eu1", "namespace": "Bad"}, {}, ["hosts[0]", "namespace: 'Bad'"]),
    ([{"host": "x.org", "allowed_sources": {"namespaces": ["pay"]}}], dict(SETTINGS, gateway_mtls=False), {},
     ["hosts[0] (host 'x.org'): allowed_sources: needs sidecar -> gateway mutual TLS (gateway_mtls: true)"]),
    ([{"host": "x.org", "allowed_sources": {"namespaces": ["pay"]}}], dict(SETTINGS, gateway_mtls=False),
     {"setting_names": {"gateway_mtls": "external_services_gateway_mtls"}}, ["(external_services_gateway_mtls: true)"]),
    ([{"host": "x.org", "ports": [{"number": 8443, "protocol": "TLS"}]}], dict(SETTINGS, gateway_service_ports=[80, 443]), {},
     ["8443"]),
])
def test_every_error_at_once_and_nothing_planned(hosts, settings, kwargs, expected):
    plan = plan_hosts(hosts, settings, **kwargs)
    assert len(plan.errors) == len(expected), plan.errors
    for error, fragment in zip(plan.errors, expected):
        assert fragment in error
    assert plan.hosts == [] and plan.gateway_ports == [] and plan.rendered is None


def test_a_valid_plan_normalises_once_and_renders_what_render_does():
    plan = plan_hosts(HOSTS, SETTINGS, render=True)
    assert plan.errors == []
    assert plan.hosts == normalize_hosts(HOSTS)
    assert plan.rendered == render(normalize_hosts(HOSTS), SETTINGS)
    # The ports every via-gateway host needs at the gateway; the direct host's TCP port is not one.
    assert plan.gateway_ports == [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]
    assert plan.summary() == {"hosts": 3, "via_gateway": 2, "direct": 1, "gateway_ports": plan.gateway_ports,
                              "warnings": plan.warnings}


def test_the_plan_renders_only_when_asked_and_warns_either_way():
    tcp = [{"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]}]
    unrendered, rendered = plan_hosts(tcp, SETTINGS), plan_hosts(tcp, SETTINGS, render=True)
    assert unrendered.rendered is None and rendered.rendered["objects"]
    assert unrendered.warnings == rendered.warnings and "TCP port 5432 has no addresses" in unrendered.warnings[0]


NAMES = {"hosts": "external_services_hosts", "settings": role_var("external_services", "external_services_variable_names")["settings"],
         "gateway": role_var("egress_gateway", "egress_gateway_variable_names"),
         "sidecar": role_var("outbound_policy", "outbound_policy_variable_names")}


def test_site_plan_puts_the_other_roles_setting_errors_first_each_named_as_given():
    sidecars = {"mode": "REGISTRY_ONLY", "namespaces": ["Bad NS"], "name": "default", "istio_namespace": "istio-system",
                "gateway_namespace": "istio-system"}
    plan = site_plan([{"host": "a..b"}], dict(SETTINGS, namespace="Bad"), dict(GATEWAY, name="Bad_Name"), sidecars, NAMES)
    assert plan.errors[0].startswith("egress_gateway_name: 'Bad_Name'")
    assert any(e.startswith("outbound_policy_namespaces[0]") for e in plan.errors)
    assert plan.errors[-2].startswith("external_services_hosts[0] (host 'a..b')")
    assert plan.errors[-1].startswith("external_services_namespace: 'Bad'")
    unnamed = site_plan([{"host": "a..b"}], dict(SETTINGS, namespace="Bad"), dict(GATEWAY, name="Bad_Name"), sidecars)
    assert [e.split(" ")[0] for e in unnamed.errors] == ["name:", "namespaces[0]:", "hosts[0]", "namespace:"]


def test_the_module_fails_with_every_error_or_sets_the_summary():
    with pytest.raises(ModuleFailure) as refused:
        module_result({"hosts": [{"host": "a..b"}, {"host": "c..d"}], "settings": SETTINGS, "gateway_settings": GATEWAY,
                       "variable_names": NAMES})
    assert str(refused.value).startswith("settings and external_services_hosts: 2 error(s); nothing was changed:\n- ")
    assert len(refused.value.fields["errors"]) == 2
    result = module_result({"hosts": HOSTS, "settings": SETTINGS, "gateway_settings": GATEWAY})
    assert result["ansible_facts"]["egress_plan"]["gateway_ports"] == [{"number": 80, "protocol": "HTTP"},
                                                                       {"number": 443, "protocol": "TLS"}]
