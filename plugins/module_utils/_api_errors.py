# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""Turn the errors kubernetes.core modules report for a failed cluster access
(an ApiException dump, a urllib3 retry error) into one sentence a user can act on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_STATUS = re.compile(r"(?:^|Exception '|Module failed: )(\d{3})\s*\nReason: ([^\n]*)", re.M)
_BODY = re.compile(r"HTTP response body: (\{.*?\})\s*(?:\n|$)", re.S)

_HINTS = {
    401: "the API server refused the credentials (401 Unauthorized): the token (K8S_AUTH_API_KEY, or the kubeconfig user) "
         "is wrong, expired or revoked",
    403: "the credentials are not allowed to {action} (403 Forbidden: {detail}); docs/rbac.yaml lists the rights the collection needs",
}
_TLS = ("the API server's TLS certificate could not be verified ({detail}): give its CA with K8S_AUTH_SSL_CA_CERT or the "
        "kubeconfig's certificate-authority (K8S_AUTH_VERIFY_SSL=false only for a throw-away test cluster)")
_UNREACHABLE = "the API server could not be reached ({detail}): check K8S_AUTH_HOST or the kubeconfig's server and the network"


def _status(message):
    match = _STATUS.search(message)
    if not match:
        return None, None
    detail = match.group(2).strip()
    body = _BODY.search(message)
    if body:
        try:
            detail = json.loads(body.group(1)).get("message") or detail
        except ValueError:
            pass
    return int(match.group(1)), detail


def _first_line(message, marker):
    """The part of a urllib3/ssl error that says what happened, without the retry wrapper."""
    tail = message[message.find(marker):] if marker in message else message
    return tail.splitlines()[0].strip().rstrip(")").strip()


def explain(message, action):
    """One sentence for a failed attempt to ``action`` (e.g. "list Deployments
    in istio-system"), or the message itself when it is no access problem."""
    message = str(message or "")
    code, detail = _status(message)
    if code == 401:
        return "Cannot %s: %s. Nothing was changed." % (action, _HINTS[401])
    if code == 403:
        return "Cannot %s: %s. Nothing was changed." % (action, _HINTS[403].format(action=action, detail=detail))
    if code is not None:
        return "Cannot %s: the API server answered %d (%s). Nothing was changed." % (action, code, detail)
    if "CERTIFICATE_VERIFY_FAILED" in message or "SSLCertVerificationError" in message:
        return "Cannot %s: %s. Nothing was changed." % (action, _TLS.format(detail=_first_line(message, "certificate verify failed")))
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host", "Temporary failure in name resolution"):
        if marker in message:
            return "Cannot %s: %s. Nothing was changed." % (action, _UNREACHABLE.format(detail=marker))
    return message


def explain_api_error(error, action):
    """The same sentence for a k8s_glue.ApiError (our modules' own requests)."""
    status = getattr(error, "status", 0) or 0
    if status == 401:
        return "Cannot %s: %s. Nothing was changed." % (action, _HINTS[401])
    if status == 403:
        return "Cannot %s: %s. Nothing was changed." % (action, _HINTS[403].format(action=action, detail=error.detail))
    if status:
        return "Cannot %s: the API server answered %d (%s). Nothing was changed." % (action, status, error.detail or error.reason)
    return explain(str(error), action)
