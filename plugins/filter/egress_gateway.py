# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the egress_gateway role; the logic is in module_utils/_gateway.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.istio_egress.plugins.module_utils import _gateway as gateway


def _plain(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("egress gateway settings must be a dict, got {0}".format(type(settings).__name__))
    return dict(settings)


def egress_gateway_errors(settings, names=None):
    return gateway.validate(_plain(settings), dict(names or {}))


def egress_gateway_definitions(settings):
    try:
        return gateway.definitions(_plain(settings))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def egress_gateway_istio_operator(settings):
    try:
        return gateway.istio_operator(_plain(settings))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def egress_gateway_helm_values(settings):
    try:
        return gateway.helm_values(_plain(settings))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def egress_gateway_istioctl_argv(binary, files, kubeconfig=None, context=None):
    try:
        return gateway.istioctl_install_argv(binary, list(files), kubeconfig or None, context or None)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def egress_gateway_token_kubeconfig(host, api_key, ca_cert=None, verify_ssl=True):
    try:
        return gateway.token_kubeconfig(host, api_key, ca_cert or None, verify_ssl)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def egress_gateway_prune_scope(namespace):
    return gateway.prune_scope(namespace)


class FilterModule(object):
    def filters(self):
        return {
            "egress_gateway_errors": egress_gateway_errors,
            "egress_gateway_definitions": egress_gateway_definitions,
            "egress_gateway_istio_operator": egress_gateway_istio_operator,
            "egress_gateway_helm_values": egress_gateway_helm_values,
            "egress_gateway_istioctl_argv": egress_gateway_istioctl_argv,
            "egress_gateway_token_kubeconfig": egress_gateway_token_kubeconfig,
            "egress_gateway_prune_scope": egress_gateway_prune_scope,
        }
