"""When an empty host list may prune an owner's objects: only with the opt-in."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._prune_guard import (
    EmptyPruneRefused, check_empty_prune, describe_counts, refused_prune)

EVERYTHING = ["ServiceEntry", "VirtualService", "ServiceEntry", "Gateway", "DestinationRule", "VirtualService"]


@pytest.mark.parametrize("hosts,prune,doomed,allowed,expected", [
    pytest.param(0, True, EVERYTHING, False,
                 {"DestinationRule": 1, "Gateway": 1, "ServiceEntry": 2, "VirtualService": 2}, id="empty-list-refused"),
    pytest.param(0, True, ["NetworkPolicy"], False, {"NetworkPolicy": 1}, id="one-object-is-enough"),
    pytest.param(0, True, EVERYTHING, True, None, id="opted-in"),
    pytest.param(0, True, [], False, None, id="nothing-on-the-cluster"),
    pytest.param(0, False, EVERYTHING, False, None, id="prune-off-deletes-nothing"),
    pytest.param(1, True, EVERYTHING, False, None, id="hosts-declared-prune-the-rest"),
])
def test_refused_prune(hosts, prune, doomed, allowed, expected):
    assert refused_prune(hosts, prune, doomed, allowed) == expected


def test_the_refusal_says_how_many_of_which_kinds_and_how_to_opt_in():
    with pytest.raises(EmptyPruneRefused) as refused:
        check_empty_prune(0, True, EVERYTHING, False, "cluster-a")
    message = str(refused.value)
    assert "all 6 object(s) of owner 'cluster-a'" in message
    assert "2 ServiceEntry, 2 VirtualService, 1 DestinationRule, 1 Gateway" in message
    assert "allow_empty_prune: true" in message and "nothing was changed" in message
    assert refused.value.total == 6 and refused.value.kinds["ServiceEntry"] == 2


def test_no_refusal_returns_quietly():
    assert check_empty_prune(0, True, [], False, "cluster-a") is None


def test_counts_read_most_first_then_by_kind():
    assert describe_counts({"Gateway": 1, "ServiceEntry": 3, "DestinationRule": 1}) == "3 ServiceEntry, 1 DestinationRule, 1 Gateway"


def test_the_refusal_names_the_settings_as_the_caller_calls_them():
    names = {"hosts": "external_services_hosts", "prune": "external_services_prune",
             "allow_empty_prune": "external_services_allow_empty_prune"}
    with pytest.raises(EmptyPruneRefused) as refused:
        check_empty_prune(0, True, ["Gateway"], False, "cluster-a", names)
    message = str(refused.value)
    assert message.startswith("external_services_hosts is empty")
    assert "set external_services_allow_empty_prune: true" in message and "set external_services_prune: false" in message
