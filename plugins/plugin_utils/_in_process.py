# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Run a module of this collection in the controller's worker process.

A cluster is reached from the controller (``connection: local``), so shipping
a module to a new Python process buys nothing but its start: AnsiballZ plus
importing the kubernetes client cost about 0.5 s of CPU per task, most of a
no-op run. Ansible loads an action plugin's class in the main process before
it forks the worker, so the imports below are paid once per playbook run.

Either way the collection's connection variables (istio_egress_kubeconfig,
istio_egress_context) fill the module's kubeconfig and context when neither
the task nor module_defaults sets them.

The module still runs as a module whenever the task would not run here:
another connection, become, async, an interpreter other than this one, or
``istio_egress_in_process: false``. Both paths validate with the module's own
argument_spec and call the same function (module_utils/_module_entry.py).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

MODULES = "ansible_collections.meshops.istio_egress.plugins.modules."

IN_PROCESS_VARIABLE = "istio_egress_in_process"
# The collection's connection variables (per inventory host, i.e. per cluster) and the options they fill
# when neither the task nor module_defaults sets them.
CONNECTION_VARIABLES = {"kubeconfig": "istio_egress_kubeconfig", "context": "istio_egress_context"}


class InProcessAction(ActionBase):
    """The action of a module; ``module_spec()`` returns its ModuleSpec (None: not importable here)."""

    _supports_check_mode = True
    _supports_async = True
    module_spec = None
    # False for a module that takes no connection options.
    connects = True

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._module_args(task_vars)
        if self._runs_here(task_vars):
            return merge_hash(result, self._run_here(args))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _module_args(self, task_vars):
        """The task's arguments (module_defaults included), as plain data, with the cluster named by the
        collection's connection variables where the task left it out: declared once per inventory host,
        they reach every module of the collection, in a role or not."""
        # Plain data, as a module process receives it: the task's arguments may hold Ansible's tagged types.
        args = json.loads(json.dumps(self._task.args))
        if self.connects:
            for option, variable in CONNECTION_VARIABLES.items():
                if args.get(option) is None and task_vars.get(variable) is not None:
                    args[option] = json.loads(json.dumps(self._templar.template(task_vars[variable])))
        return args

    def _runs_here(self, task_vars):
        if self.module_spec is None or self._task.async_val or self._play_context.become:
            return False
        if getattr(self._connection, "transport", None) not in ("local", "ansible.builtin.local"):
            return False
        # An extra var (-e istio_egress_in_process=false) is a string.
        if not boolean(self._templar.template(task_vars.get(IN_PROCESS_VARIABLE, True)), strict=False):
            return False
        interpreter = task_vars.get("ansible_python_interpreter")
        if interpreter is None:
            return True
        interpreter = shutil.which(str(self._templar.template(interpreter))) or ""
        return os.path.realpath(interpreter) == os.path.realpath(sys.executable)

    def _run_here(self, args):
        # The task's environment (K8S_AUTH_* among others), as the module process would get it, before the
        # argument spec's environment fallbacks read it; this worker process runs this one task.
        environment = {}
        self._compute_environment_string(environment)
        os.environ.update(dict((key, str(value)) for key, value in environment.items()))
        spec = self.module_spec()
        validated = ArgumentSpecValidator(spec.argument_spec, **spec.constraints).validate(args)
        if validated.error_messages:
            msg = validated.errors.msg
            if isinstance(validated.errors[0], UnsupportedError):
                msg = "Unsupported parameters for ({0}) module: {1}".format(self._task.action, msg)
            return {"failed": True, "msg": msg}
        params = validated.validated_parameters
        result = spec.result(params, bool(self._task.check_mode), bool(self._task.diff))
        result["warnings"].extend("Both option {option} and its alias {alias} are set.".format(**w) for w in validated._warnings)
        result["invocation"] = {"module_args": params}
        return remove_values(result, validated._no_log_values)


def module_action(name, connects=True):
    """The ActionModule class of module ``name`` of this collection. ``connects``: False for a module
    that takes no connection options. Where the module (the kubernetes client) does not import in the
    controller's Python, the task runs the module as a process, which reports what is missing."""
    try:
        spec = importlib.import_module(MODULES + name).spec
    except ImportError:
        spec = None
    return type("ActionModule", (InProcessAction,), {"module_spec": staticmethod(spec) if spec else None, "connects": connects})
