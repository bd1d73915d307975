"""The API retry policy: which failed requests are sent again, after how long."""
import pytest

from ansible_collections.meshops.istio_egress.plugins.module_utils._retry import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    NO_ANSWER,
    RETRY_AFTER_CAP,
    decide,
    retry_after,
)

# (method, status, headers, attempt) -> seconds to wait (jitter=1: the full backoff), None = give up
TABLE = [
    # reads: every transient failure, with exponential backoff
    ("GET", 500, None, 1, BACKOFF_BASE),
    ("GET", 503, None, 2, BACKOFF_BASE * 2),
    ("GET", 504, None, 3, BACKOFF_BASE * 4),
    ("GET", NO_ANSWER, None, 1, BACKOFF_BASE),
    ("get", 502, None, 1, BACKOFF_BASE),
    # the server's Retry-After wins, capped so a job does not stall for minutes
    ("GET", 503, {"Retry-After": "2"}, 1, 2.0),
    ("GET", 503, {"retry-after": "0"}, 1, 0.0),
    ("GET", 503, {"Retry-After": "3600"}, 1, RETRY_AFTER_CAP),
    ("GET", 503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1, BACKOFF_BASE),
    # attempts run out
    ("GET", 500, None, MAX_ATTEMPTS, None),
    ("GET", 503, {"Retry-After": "1"}, MAX_ATTEMPTS, None),
    # writes guarded by resourceVersion / preconditions, and creates (AlreadyExists is read back)
    ("PUT", 500, None, 1, BACKOFF_BASE),
    ("PUT", NO_ANSWER, None, 2, BACKOFF_BASE * 2),
    ("DELETE", 503, {"Retry-After": "1"}, 1, 1.0),
    ("POST", 500, None, 1, BACKOFF_BASE),
    ("POST", NO_ANSWER, None, 1, BACKOFF_BASE),
    # PATCH carries no resourceVersion: only a 429 (refused before any work) is safe to repeat
    ("PATCH", 500, None, 1, None),
    ("PATCH", NO_ANSWER, None, 1, None),
    ("PATCH", 429, {"Retry-After": "1"}, 1, 1.0),
    ("POST", 429, None, 1, BACKOFF_BASE),
    # answers that describe the request, not the moment: never repeated here
    ("PUT", 409, None, 1, None),
    ("POST", 409, None, 1, None),
    ("GET", 404, None, 1, None),
    ("GET", 403, None, 1, None),
    ("GET", 401, None, 1, None),
    ("POST", 422, None, 1, None),
    ("POST", 400, None, 1, None),
    ("GET", None, None, 1, None),
]


@pytest.mark.parametrize("method,status,headers,attempt,expected", TABLE)
def test_decide(method, status, headers, attempt, expected):
    assert decide(method, status, headers, attempt, jitter=1.0) == expected


def test_backoff_is_capped_and_jitter_keeps_at_least_half():
    assert decide("GET", 500, None, 20, max_attempts=50, jitter=1.0) == BACKOFF_CAP
    assert decide("GET", 500, None, 1, jitter=0.0) == BACKOFF_BASE / 2
    # jitter never touches the server's Retry-After
    assert decide("GET", 503, {"Retry-After": "2"}, 1, jitter=0.0) == 2.0


def test_total_wait_of_a_failing_read_stays_short():
    waits = [decide("GET", 503, None, attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert decide("GET", 503, None, MAX_ATTEMPTS) is None
    assert 0 < sum(waits) < 5


@pytest.mark.parametrize("headers,expected", [
    (None, None), ({}, None), ({"Retry-After": "5"}, 5.0), ({"RETRY-AFTER": "1.5"}, 1.5),
    ({"Retry-After": "-3"}, 0.0), ({"Retry-After": "soon"}, None), ({"Content-Type": "application/json"}, None),
])
def test_retry_after(headers, expected):
    assert retry_after(headers) == expected
