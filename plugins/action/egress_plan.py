# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the egress_plan module in the controller's worker when the task runs on the controller (see plugin_utils/_in_process.py)."""

from __future__ import annotations

from ansible_collections.meshops.istio_egress.plugins.plugin_utils._in_process import module_action

ActionModule = module_action("egress_plan", connects=False)
