"""The filters are thin wrappers: same results as module_utils, and one
AnsibleFilterError listing every error instead of a partial render."""
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.filter.egress import FilterModule
from ansible_collections.meshops.istio_egress.plugins.module_utils._hosts import normalize_hosts, validate_hosts
from ansible_collections.meshops.istio_egress.plugins.module_utils._render import render
from helpers.playbook import run_playbook

FILTERS = FilterModule().filters()
HOSTS = [
    {"host": "httpbin.org"},
    {"host": "Edition.CNN.com", "ports": [{"number": "80", "protocol": "http"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}], "via_gateway": "yes"},
]
BAD_HOSTS = [{"host": "api..github.com"}, {"host": "ok.example.com", "gateway": True}, {"host": "10.0.0.1"}]


def test_filters_are_registered():
    assert set(FILTERS) == {"validate_egress_hosts", "normalize_egress_hosts", "render_egress",
                            "egress_gateway_port_errors", "egress_gateway_ports", "egress_warnings"}


def test_gateway_ports_are_the_via_gateway_ports_with_the_gateway_protocol():
    hosts = HOSTS + [{"host": "direct.example.com", "via_gateway": False, "ports": [{"number": 8080, "protocol": "HTTP"}]}]
    assert FILTERS["egress_gateway_ports"](hosts) == [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]


@pytest.mark.parametrize("hosts", [HOSTS, BAD_HOSTS, [], "not a list"])
def test_validate_matches_module_utils(hosts):
    # The filters serve the external_services role: the list is its variable unless named otherwise.
    assert FILTERS["validate_egress_hosts"](hosts) == validate_hosts(hosts, "external_services_hosts")
    assert FILTERS["validate_egress_hosts"](hosts, var_name="x") == validate_hosts(hosts, var_name="x")


def test_normalize_matches_module_utils():
    assert FILTERS["normalize_egress_hosts"](HOSTS) == normalize_hosts(HOSTS)


def test_render_matches_module_utils():
    expected = render(normalize_hosts(HOSTS), {"owner": "prod-eu", "namespace": "egress"})
    assert FILTERS["render_egress"](HOSTS, owner="prod-eu", namespace="egress") == expected
    assert FILTERS["render_egress"](HOSTS, {"owner": "prod-eu", "namespace": "egress"}) == expected
    # keyword options override the settings dict
    assert FILTERS["render_egress"](HOSTS, {"owner": "other", "namespace": "egress"}, owner="prod-eu") == expected


@pytest.mark.parametrize("name", ["normalize_egress_hosts", "render_egress"])
def test_invalid_hosts_raise_one_error_listing_all(name):
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](BAD_HOSTS, owner="prod-eu") if name == "render_egress" else FILTERS[name](BAD_HOSTS)
    message = str(caught.value)
    for error in validate_hosts(BAD_HOSTS):
        assert error in message
    assert "(3 errors)" in message


def test_render_reports_host_and_setting_errors_together():
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["render_egress"](BAD_HOSTS[:1], namespace="Bad_NS")
    message = str(caught.value)
    assert "external_services_hosts[0]" in message and "owner:" in message and "namespace:" in message


def test_render_rejects_unknown_settings_with_a_suggestion():
    with pytest.raises(AnsibleFilterError, match="did you mean 'namespace'"):
        FILTERS["render_egress"](HOSTS, owner="o", namespcae="x")


def test_render_rejects_non_dict_settings():
    with pytest.raises(AnsibleFilterError, match="settings must be a dict"):
        FILTERS["render_egress"](HOSTS, "prod-eu")


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    hosts_ok:
      - host: httpbin.org
      - host: api.github.com
        ports: [{number: "443", protocol: tls}]
    hosts_bad:
      - host: api..github.com
      - {host: ok.example.com, gateway: true}
  tasks:
    - name: render
      ansible.builtin.debug:
        msg: "{{ hosts_ok | meshops.istio_egress.render_egress(owner='prod-eu') | to_json }}"
    - name: validate
      ansible.builtin.debug:
        msg: "{{ hosts_bad | meshops.istio_egress.validate_egress_hosts }}"
    - name: refuse
      block:
        - name: fail
          ansible.builtin.debug:
            msg: "{{ hosts_bad | meshops.istio_egress.render_egress(owner='prod-eu') }}"
      rescue:
        - name: rescued
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.msg }}"
"""


def test_filters_work_in_real_templating(tmp_path):
    # ansible-core hands filters its own tagged/lazy types; check them end to end.
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    result = run_playbook(playbook)
    assert result.rc == 0, result.stderr
    by_name = {name: res for name, _host, res in result.task_results()}
    rendered = json.loads(by_name["render"]["msg"])
    assert rendered["summary"]["via_gateway"] == 2
    assert rendered == json.loads(json.dumps(render(normalize_hosts(
        [{"host": "httpbin.org"}, {"host": "api.github.com", "ports": [{"number": 443, "protocol": "TLS"}]}]),
        {"owner": "prod-eu"})))
    assert by_name["validate"]["msg"] == validate_hosts([{"host": "api..github.com"},
                                                         {"host": "ok.example.com", "gateway": True}], "external_services_hosts")
    assert by_name["fail"]["failed"]
    assert "external_services_hosts[1] (host 'ok.example.com'): gateway: unknown key" in by_name["rescued"]["msg"]


@pytest.mark.parametrize("service_ports", [
    [80],  # 443 missing
    [{"name": "http2", "port": 80}],
    [80, {"name": "tcp-443", "port": 443}, {"name": "http-8443", "port": 8443}],
])
def test_the_cheap_port_check_finds_exactly_the_ports_the_host_check_refuses(service_ports):
    hosts = HOSTS + [{"host": "grpc.example.com", "ports": [{"number": 8443, "protocol": "GRPC"}]}]
    needed = FILTERS["egress_gateway_ports"](hosts)
    by_hosts = FILTERS["egress_gateway_port_errors"](hosts, service_ports)
    by_ports = FILTERS["egress_gateway_port_errors"](needed, service_ports)
    assert by_hosts and len(by_ports) == len(by_hosts)
    # Same ports refused, in the same order; only the host version names the hosts.
    assert [e.split(",")[0].split(" which")[0] for e in by_ports] == [e.split(",")[0].split(" which")[0] for e in by_hosts]
    assert "'grpc.example.com'" in " ".join(by_hosts) and "'grpc.example.com'" not in " ".join(by_ports)


def test_the_cheap_port_check_passes_when_the_service_has_every_port():
    needed = FILTERS["egress_gateway_ports"](HOSTS)
    assert FILTERS["egress_gateway_port_errors"](needed, [{"name": "http2", "port": 80}, {"name": "https", "port": 443}]) == []
