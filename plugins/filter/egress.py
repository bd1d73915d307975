# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over ``external_services_hosts``: thin wrappers of module_utils.

Documented in validate_egress_hosts.yml, normalize_egress_hosts.yml and
render_egress.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.module_utils.hosts import (
    VAR_NAME, normalize_hosts, validate_hosts,
)
from ansible_collections.meshops.istio_egress.plugins.module_utils.render import (
    render, resolve_settings, validate_settings,
)


def _fail(what, errors):
    raise AnsibleFilterError("{0} ({1} error{2}):\n- {3}".format(
        what, len(errors), "" if len(errors) == 1 else "s", "\n- ".join(errors)))


def validate_egress_hosts(hosts, var_name=VAR_NAME, settings=None):
    errors = validate_hosts(hosts, var_name=var_name)
    if settings is not None:
        errors += validate_settings(resolve_settings(dict(settings)))
    return errors


def normalize_egress_hosts(hosts, var_name=VAR_NAME):
    errors = validate_hosts(hosts, var_name=var_name)
    if errors:
        _fail("invalid " + var_name, errors)
    return normalize_hosts(hosts)


def render_egress(hosts, settings=None, var_name=VAR_NAME, **overrides):
    if settings is not None and not isinstance(settings, dict):
        raise AnsibleFilterError("render_egress: settings must be a dict, got {0}".format(
            type(settings).__name__))
    merged = dict(settings or {})
    merged.update(overrides)
    resolved = resolve_settings(merged)
    # Host and setting errors together: the user fixes everything in one pass.
    errors = validate_hosts(hosts, var_name=var_name) + validate_settings(resolved)
    if errors:
        _fail("cannot render the egress objects", errors)
    return render(normalize_hosts(hosts), resolved)


class FilterModule(object):
    def filters(self):
        return {
            "validate_egress_hosts": validate_egress_hosts,
            "normalize_egress_hosts": normalize_egress_hosts,
            "render_egress": render_egress,
        }
