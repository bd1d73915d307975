"""result_of: one module run as the result dict, the same for the module
process and the in-process action plugin; a failure is a result, never an
exit."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure
from ansible_collections.meshops.istio_egress.plugins.module_utils._module_entry import ModuleSpec, result_of


class Refused(Exception):
    pass


def entry_returning(result):
    return lambda params, connect, check_mode, want_diff: dict(result, seen=[params, check_mode, want_diff])


def entry_raising(exc):
    def entry(params, connect, check_mode, want_diff):
        raise exc
    return entry


@pytest.mark.parametrize("entry, expected", [
    # A result gets changed and warnings when it has none.
    (entry_returning({}), {"changed": False, "warnings": [], "seen": [{"a": 1}, True, False]}),
    (entry_returning({"changed": True, "warnings": ["w"]}), {"changed": True, "warnings": ["w"], "seen": [{"a": 1}, True, False]}),
    # The user's errors, as msg; a ModuleFailure's fields beside it.
    (entry_raising(Refused("a: wrong")), {"failed": True, "msg": "a: wrong", "changed": False, "warnings": []}),
    (entry_raising(ModuleFailure("refused", kinds={"X": 1})),
     {"failed": True, "msg": "refused", "kinds": {"X": 1}, "changed": False, "warnings": []}),
])
def test_result_of(entry, expected):
    assert result_of(ModuleSpec({}, entry, errors=(Refused,)), {"a": 1}, check_mode=True) == expected


def test_an_unexpected_error_is_not_hidden_as_a_user_error():
    with pytest.raises(KeyError):
        result_of(ModuleSpec({}, entry_raising(KeyError("bug")), errors=(Refused,)), {})


def test_no_cluster_is_reached_unless_the_entry_asks():
    # connect() builds a kubernetes client from the params: an entry that never calls it makes no request.
    assert result_of(ModuleSpec({}, entry_returning({})), {"kubeconfig": "/nonexistent"})["changed"] is False
