"""The role's one-pass module logic, in render mode and on bad input: no
cluster is involved, and ``connect`` must never be called."""
import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils._egress_converge import InputError, converge

HOSTS = [
    {"host": "httpbin.org"},
    {"host": "edition.cnn.com", "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 443, "protocol": "TLS"}]},
    {"host": "api.github.com", "ports": [{"number": "443", "protocol": "tls"}]},
]


def params(tmp_path, hosts=None, **extra):
    base = {"hosts": HOSTS if hosts is None else hosts, "owner": "eu1", "settings": {}, "prune": True, "prune_scope": [],
            "render_dir": str(tmp_path / "out"), "conflict_retries": 5}
    base.update(extra)
    return base


def no_cluster():
    raise AssertionError("render mode and bad input must not connect to a cluster")


def test_render_mode_writes_one_file_per_object_and_reports(tmp_path):
    result = converge(params(tmp_path), no_cluster)
    written = sorted((tmp_path / "out").iterdir())
    kinds = sorted(yaml.safe_load(p.read_text())["kind"] for p in written)
    assert kinds == ["DestinationRule", "Gateway"] + ["ServiceEntry"] * 3 + ["VirtualService"] * 3
    assert result["changed"] and result["summary"]["files_written"] == 8 and result["summary"]["hosts"] == 3


def test_render_mode_rerun_is_unchanged_and_prunes_removed_hosts(tmp_path):
    converge(params(tmp_path), no_cluster)
    assert not converge(params(tmp_path), no_cluster)["changed"]
    result = converge(params(tmp_path, hosts=HOSTS[:1]), no_cluster)
    assert result["summary"]["files_removed"] == 4  # 2 ServiceEntries, 2 VirtualServices


def test_virtual_service_files_carry_the_route_record(tmp_path):
    converge(params(tmp_path, hosts=HOSTS[:1]), no_cluster)
    [vs_file] = [p for p in (tmp_path / "out").iterdir() if "virtualservice" in p.name]
    vs = yaml.safe_load(vs_file.read_text())
    assert "eu1" in vs["metadata"]["annotations"]["egress.meshops.io/routes"]
    assert {r["match"][0]["gateways"][0] for r in vs["spec"]["http"]} >= {"mesh"}


def test_every_error_at_once_and_nothing_written(tmp_path):
    bad = [{"host": "api..github.com"}, {"host": "ok.example.com", "ports": [{"number": 0}]}, {"host": "x.org", "gatway": 1}]
    with pytest.raises(InputError) as error:
        converge(params(tmp_path, hosts=bad), no_cluster)
    message = str(error.value)
    assert " error(s), nothing was changed" in message
    for index in range(3):  # every item's error, each named as the module's option: a direct caller has no role variable
        assert "\n- hosts[%d]" % index in message
    assert not (tmp_path / "out").exists()


def test_errors_name_the_role_variable_the_role_passes(tmp_path):
    with pytest.raises(InputError) as error:
        converge(dict(params(tmp_path, hosts=[{"host": "api..github.com"}]), variable_names={"hosts": "external_services_hosts"}),
                 no_cluster)
    assert "\n- external_services_hosts[0]" in str(error.value)


def test_bad_settings_are_reported_with_the_hosts(tmp_path):
    with pytest.raises(InputError, match="namespace"):
        converge(params(tmp_path, settings={"namespace": "Not_A_Namespace"}), no_cluster)


def test_check_mode_render_writes_nothing(tmp_path):
    result = converge(params(tmp_path), no_cluster, check_mode=True)
    assert result["changed"] and not (tmp_path / "out").exists()


def test_warnings_come_back_with_the_result(tmp_path):
    hosts = [{"host": "db.example.com", "ports": [{"number": 5432, "protocol": "TCP"}]}]
    result = converge(params(tmp_path, hosts=hosts), no_cluster)
    assert any("'db.example.com'" in w and "no addresses" in w for w in result["warnings"])
