# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the verify role: thin wrappers of module_utils/_verify_*.py.

Documented in egress_verify_checks.yml, egress_verify_script.yml,
egress_verify_mesh.yml and egress_verify_report.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import timedelta

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio_egress.plugins.module_utils import _verify_access_log as verify_access_log
from ansible_collections.meshops.istio_egress.plugins.module_utils import _verify_checks as verify_checks
from ansible_collections.meshops.istio_egress.plugins.module_utils import _verify_report as verify_report


def egress_verify_checks(hosts, negative_host="", negative_port=80):
    if not isinstance(hosts, list) or not all(isinstance(item, dict) and "ports" in item for item in hosts):
        raise AnsibleFilterError("egress_verify_checks: pass the hosts through meshops.istio_egress.normalize_egress_hosts first")
    try:
        return verify_checks.checks(hosts, negative_host, negative_port)
    except (verify_checks.VerifyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


def egress_verify_script(checks, timeout=10):
    try:
        return verify_checks.script(checks, timeout)
    except (verify_checks.VerifyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("egress_verify_script: {0}".format(exc))


def egress_verify_mesh(mesh_yaml, source="mesh config"):
    if verify_access_log.yaml is None:
        raise AnsibleFilterError("the PyYAML Python library is required on the controller")
    try:
        return verify_access_log.mesh_access_log(mesh_yaml, str(source))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _gateway_log(item):
    """(pod name, log text) of a string, a {pod, log} dict or a k8s_log loop result (item = the pod)."""
    if isinstance(item, dict):
        pod = item.get("pod")
        if pod is None and isinstance(item.get("item"), dict):
            pod = (item["item"].get("metadata") or {}).get("name")
        return pod, item.get("log") or ""
    return None, item or ""


def egress_verify_report(checks, client_log, gateway_logs, since=None, client_ip=None, slack_seconds=5):
    since_time = None
    if since:
        since_time = verify_access_log.parse_time(since)
        if since_time is None:
            raise AnsibleFilterError("egress_verify_report: since must be a timestamp like 2026-01-31T12:00:00Z, got {0!r}".format(since))
        # The gateway's clock is not the API server's: allow it to run a little behind.
        since_time -= timedelta(seconds=int(slack_seconds))
    entries, unreadable = [], 0
    for item in gateway_logs or []:
        pod, text = _gateway_log(item)
        parsed, bad = verify_access_log.parse_log(text, pod)
        entries.extend(parsed)
        unreadable += bad
    return verify_report.report(checks, verify_checks.parse_client_log(client_log), entries, since_time,
                                str(client_ip) if client_ip else None, unreadable)


class FilterModule(object):
    def filters(self):
        return {
            "egress_verify_checks": egress_verify_checks,
            "egress_verify_script": egress_verify_script,
            "egress_verify_mesh": egress_verify_mesh,
            "egress_verify_report": egress_verify_report,
        }
