# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Whether an empty host list may prune an owner's objects.

An empty list is more often a mistake (a typo in group_vars, an empty survey
answer) than a wish to remove every host, so pruning everything an owner has
needs an explicit opt-in. Pure: the caller plans the prune and asks here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure


class EmptyPruneRefused(ModuleFailure):
    """An empty host list would prune objects and the opt-in is off; nothing was written."""

    def __init__(self, message, owner, kinds):
        super(EmptyPruneRefused, self).__init__(
            message, empty_prune_refused=dict(owner=owner, total=sum(kinds.values()), kinds=kinds))
        self.owner = owner
        self.kinds = kinds

    @property
    def total(self):
        return sum(self.kinds.values())


def count_by_kind(kinds):
    """{kind: count} of an iterable of kind names, sorted by kind."""
    counts = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def describe_counts(kinds):
    """'3 ServiceEntry, 1 Gateway' style text of {kind: count}, most first."""
    return ", ".join("{0} {1}".format(count, kind) for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def refused_prune(host_count, prune, doomed_kinds, allowed):
    """{kind: count} of the objects an empty host list would prune without
    the opt-in, or None when the run may go ahead: hosts are declared, prune
    is off, nothing would be pruned, or the user opted in."""
    if host_count or not prune or allowed:
        return None
    kinds = count_by_kind(doomed_kinds)
    return kinds or None


def check_empty_prune(host_count, prune, doomed_kinds, allowed, owner, names=None):
    """Raise EmptyPruneRefused when ``refused_prune`` says no. ``names`` maps
    ``hosts``, ``prune`` and ``allow_empty_prune`` to what the caller's user
    calls them (a role's variables); the module's option names otherwise."""
    kinds = refused_prune(host_count, prune, doomed_kinds, allowed)
    if kinds is None:
        return
    called = dict((key, (names or {}).get(key) or key) for key in ("hosts", "prune", "allow_empty_prune"))
    raise EmptyPruneRefused(
        "{hosts} is empty, so this run would delete all {total} object(s) of owner '{owner}' on the cluster ({what}); "
        "refused, nothing was changed. To delete them all, set {allow_empty_prune}: true; to keep them, declare the hosts "
        "again or set {prune}: false".format(total=sum(kinds.values()), owner=owner, what=describe_counts(kinds), **called),
        owner, kinds)
