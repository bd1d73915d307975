"""Fault injection: make matching requests fail, stall or lose their connection."""
import threading


class Fault:
    """``match`` is a callable taking the request record (see README) or a
    dict of record fields that must all be equal; ``times=None`` never runs out."""

    def __init__(self, match=None, status=500, times=1, retry_after=None, delay=None, drop=False):
        self.match = match
        self.status = status
        self.remaining = times
        self.retry_after = retry_after
        self.delay = delay
        self.drop = drop
        self.hits = 0

    def matches(self, entry):
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(entry))
        return all(entry.get(k) == v for k, v in self.match.items())


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self._faults.clear()

    def take(self, entry):
        """The first live fault matching the request, counting the hit."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining != 0 and fault.matches(entry):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None
