"""What a user reads when the first cluster access fails."""
import json

import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils import _api_errors as api_errors

BODY = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%s,"code":%d,"reason":"%s"}'


def api_exception(code, reason, message, prefix="Task failed: Module failed: "):
    """The shape kubernetes.core reports an ApiException in."""
    return ("%s%d\nReason: %s\nHTTP response headers: HTTPHeaderDict({'Content-Type': 'application/json'})\n"
            "HTTP response body: %s\nOriginal traceback: \n  File \"x.py\", line 1\n"
            % (prefix, code, reason, BODY % (json.dumps(message), code, reason)))


@pytest.mark.parametrize("message,fragments", [
    (api_exception(401, "Unauthorized", "Unauthorized"), ["401 Unauthorized", "K8S_AUTH_API_KEY", "Nothing was changed"]),
    (api_exception(403, "Forbidden", 'deployments.apps is forbidden: User "x" cannot list resource "deployments"', prefix="Exception '"),
     ["not allowed to list Deployments in istio-system", 'cannot list resource "deployments"', "docs/rbac.yaml"]),
    (api_exception(500, "Internal Server Error", "etcd down"), ["answered 500 (etcd down)"]),
    ("Task failed: Module failed: HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /version "
     "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
     "unable to get local issuer certificate (_ssl.c:1006)')))",
     ["TLS certificate could not be verified", "unable to get local issuer certificate", "K8S_AUTH_SSL_CA_CERT"]),
    ("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /version (Caused by "
     "NewConnectionError(': Failed to establish a new connection: [Errno 111] Connection refused'))",
     ["could not be reached (Connection refused)", "K8S_AUTH_HOST"]),
])
def test_access_errors_are_explained(message, fragments):
    text = api_errors.explain(message, "list Deployments in istio-system")
    assert text.startswith("Cannot list Deployments in istio-system: ")
    for fragment in fragments:
        assert fragment in text
    assert "Original traceback" not in text and "HTTPHeaderDict" not in text


def test_other_errors_pass_through():
    assert api_errors.explain("namespaces \"x\" not found", "list") == "namespaces \"x\" not found"
