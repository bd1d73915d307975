"""Request log and counters, for tests that assert how clients talk to the API."""
import copy
import threading

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
VERBS = ("get", "list") + WRITE_VERBS + ("discovery",)


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._records = []

    def record(self, entry):
        with self._lock:
            self._records.append(entry)

    @property
    def records(self):
        with self._lock:
            return copy.deepcopy(self._records)

    def reset(self):
        with self._lock:
            self._records.clear()

    def counts(self):
        """Requests per verb, dry-run writes excluded (counted under
        ``dry_run``); ``writes`` counts successful non-dry-run writes and
        ``failed`` every request answered with a status >= 400."""
        counts = dict.fromkeys(VERBS + ("other", "writes", "dry_run", "failed"), 0)
        with self._lock:
            for entry in self._records:
                verb = entry["verb"] if entry["verb"] in VERBS else "other"
                if entry["dry_run"] and verb in WRITE_VERBS:
                    counts["dry_run"] += 1
                else:
                    counts[verb] += 1
                    if verb in WRITE_VERBS and entry["status"] < 400:
                        counts["writes"] += 1
                if entry["status"] >= 400:
                    counts["failed"] += 1
        return counts
