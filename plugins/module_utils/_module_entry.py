# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""One module run, the same whether Ansible ships the module to its own Python
process or the collection's action plugin runs it in the controller's worker
(plugin_utils/_in_process.py): validated parameters in, the result dict out.
Failures are results too, so neither path exits the process half-way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.meshops.istio_egress.plugins.module_utils._failure import ModuleFailure
from ansible_collections.meshops.istio_egress.plugins.module_utils._k8s_glue import Cluster


class ModuleSpec(object):
    """A module's argument_spec and its one call.

    ``entry(params, connect, check_mode, want_diff)`` returns the result dict
    (``warnings`` a list of strings); ``connect()`` returns the Cluster.
    ``errors``: the exceptions that are the user's to fix, reported as
    ``msg``. ``constraints``: mutually_exclusive, required_one_of, ...
    """

    def __init__(self, argument_spec, entry, errors=(), **constraints):
        self.argument_spec = argument_spec
        self.entry = entry
        self.errors = tuple(errors)
        self.constraints = constraints

    def result(self, params, check_mode=False, want_diff=False):
        """``result_of`` this module."""
        return result_of(self, params, check_mode, want_diff)


def result_of(spec, params, check_mode=False, want_diff=False):
    """The module's result for validated ``params``; a failure is ``failed: true`` with ``msg``."""
    try:
        result = spec.entry(params, lambda: Cluster(params), check_mode, want_diff)
    except ModuleFailure as exc:
        result = dict(exc.fields, failed=True, msg=str(exc))
    except spec.errors as exc:
        result = {"failed": True, "msg": str(exc)}
    result.setdefault("changed", False)
    result.setdefault("warnings", [])
    return result


def run_module(spec):
    """The module process: AnsibleModule's validation, then ``result_of``."""
    module = AnsibleK8SModule(argument_spec=spec.argument_spec, supports_check_mode=True, **spec.constraints)
    result = spec.result(module.params, module.check_mode, module._diff)
    for warning in result.pop("warnings"):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
