# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k8s_error_message filter; the logic is in module_utils/_api_errors.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio_egress.plugins.module_utils import _api_errors as api_errors


def k8s_error_message(message, action):
    return api_errors.explain(message, action)


class FilterModule(object):
    def filters(self):
        return {"k8s_error_message": k8s_error_message}
