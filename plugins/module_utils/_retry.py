# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""When to repeat a failed API request, and how long to wait first.

Pure, so the whole policy is one table in the unit tests. A request is
repeated only when repeating it cannot do harm:

- reads (GET) always: nothing changes;
- PUT carries the resourceVersion it was computed from (custom resources
  require it), so a repeat of an update that did land answers 409, never a
  second write; DELETE is guarded the same way (preconditions) and a repeat
  of one that landed answers 404, which callers treat as done;
- POST may have been applied when the answer was lost (5xx, dropped
  connection, timeout): repeating it is safe because the caller treats the
  AlreadyExists a repeat then gets as "read it back and compare"
  (k8s_glue.Cluster.create);
- PATCH is not guarded by a resourceVersion: repeated only on 429, which the
  server answers before doing anything.

409 Conflict is never repeated here: the body is stale, so callers re-read
and re-plan instead. 4xx other than 429 describe the request, not the
moment: repeating cannot help.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Status 0 stands for "no HTTP answer": dropped connection, refused, timeout.
NO_ANSWER = 0
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.25
BACKOFF_CAP = 4.0
# A server asking for a long pause should not stall a job for minutes.
RETRY_AFTER_CAP = 10.0
DEFAULT_TIMEOUT = 30.0

_SERVER_BUSY = (429,)
_TRANSIENT = (NO_ANSWER, 500, 502, 503, 504)
_GUARDED_METHODS = ("GET", "HEAD", "PUT", "DELETE", "POST")


def retry_after(headers):
    """Seconds from a Retry-After header (delta-seconds form), or None."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None  # an HTTP-date: fall back to our own backoff
    return None


def is_retryable(method, status):
    """Whether a request that failed with ``status`` may be sent again."""
    if status in _SERVER_BUSY:
        return True
    return status in _TRANSIENT and method.upper() in _GUARDED_METHODS


def decide(method, status, headers=None, attempt=1, max_attempts=MAX_ATTEMPTS, jitter=1.0):
    """Seconds to wait before sending the request again after failed
    ``attempt`` (1-based), or None to give up now.

    ``jitter`` in [0, 1] scales the backoff between half and all of it, so
    concurrent runs that failed together do not retry in lockstep; the
    server's Retry-After (capped) is taken as given.
    """
    if attempt >= max_attempts or not is_retryable(method, status):
        return None
    asked = retry_after(headers)
    if asked is not None:
        return min(asked, RETRY_AFTER_CAP)
    backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return backoff * (0.5 + 0.5 * jitter)


# A 409 Conflict: another writer changed the object since we read it. Callers
# re-read and recompute, then write again after this pause; full jitter on an
# exponential base, so writers that collided once do not collide again in lockstep.
CONFLICT_RETRIES = 5
_CONFLICT_BASE = 0.1
_CONFLICT_CAP = 3.0


def conflict_backoff(attempt, jitter=1.0):
    """Seconds to wait before the re-read after conflict number ``attempt`` (1-based)."""
    return jitter * min(_CONFLICT_CAP, _CONFLICT_BASE * 2 ** attempt)
