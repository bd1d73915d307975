import os

import pytest
import yaml

from ansible_collections.meshops.istio_egress.plugins.module_utils._manifests import MARKER, file_name, sync_directory


def obj(name, kind="ServiceEntry", namespace="istio-system", **spec):
    return {"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_file_names_are_unique_per_namespace_kind_and_name():
    assert file_name(obj("a")) == "istio-system_serviceentry_a.yaml"
    assert file_name(obj("a", kind="Gateway")) != file_name(obj("a"))
    assert file_name({"kind": "ClusterRole", "metadata": {"name": "r"}}) == "cluster_clusterrole_r.yaml"


def test_first_sync_writes_every_object_as_loadable_yaml(tmp_path):
    result = sync_directory(str(tmp_path / "out"), [obj("a", x=1), obj("b", x=2)])
    assert result["changed"] and len(result["written"]) == 2
    loaded = yaml.safe_load((tmp_path / "out" / "istio-system_serviceentry_a.yaml").read_text())
    assert loaded == obj("a", x=1)


def test_rerun_writes_nothing(tmp_path):
    sync_directory(str(tmp_path), [obj("a", x=1)])
    mtime = os.stat(tmp_path / "istio-system_serviceentry_a.yaml").st_mtime_ns
    result = sync_directory(str(tmp_path), [obj("a", x=1)])
    assert not result["changed"] and result["unchanged"] == 1
    assert os.stat(tmp_path / "istio-system_serviceentry_a.yaml").st_mtime_ns == mtime


def test_changed_object_is_rewritten_and_diffed(tmp_path):
    sync_directory(str(tmp_path), [obj("a", x=1)])
    result = sync_directory(str(tmp_path), [obj("a", x=2)])
    assert result["written"] == ["istio-system_serviceentry_a.yaml"]
    assert "x: 1" in result["diff"][0]["before"] and "x: 2" in result["diff"][0]["after"]


def test_prune_removes_only_our_files(tmp_path):
    sync_directory(str(tmp_path), [obj("a"), obj("b")])
    (tmp_path / "notes.yaml").write_text("mine: true\n")
    result = sync_directory(str(tmp_path), [obj("a")])
    assert result["removed"] == ["istio-system_serviceentry_b.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["istio-system_serviceentry_a.yaml", "notes.yaml"]


def test_check_mode_touches_nothing(tmp_path):
    result = sync_directory(str(tmp_path / "out"), [obj("a")], check_mode=True)
    assert result["changed"] and not (tmp_path / "out").exists()


def test_files_start_with_the_marker(tmp_path):
    sync_directory(str(tmp_path), [obj("a")])
    assert (tmp_path / "istio-system_serviceentry_a.yaml").read_text().startswith(MARKER)


def test_two_objects_one_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="two objects"):
        sync_directory(str(tmp_path), [obj("a"), obj("a")])
