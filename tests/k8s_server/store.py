"""In-memory object storage with a global resourceVersion counter.

Stored objects are never mutated in place: writers store a new dict, so a
reader may serialize what it got after releasing the lock.
"""
import threading


class Store:
    def __init__(self):
        # Re-entrant: an API operation holds it across read-modify-write and
        # its side effects (e.g. a namespace's default ServiceAccount).
        self.lock = threading.RLock()
        self._objects = {}  # (group, plural) -> {namespace ("" if cluster-scoped): {name: object}}
        self._revision = 0
        self._applied = {}  # (group, plural, namespace, name) -> {field manager: last applied config}
        self.pod_logs = {}  # (namespace, name) -> text

    @property
    def revision(self):
        return str(self._revision)

    def next_revision(self):
        self._revision += 1
        return str(self._revision)

    def get(self, key, namespace, name):
        return self._objects.get(key, {}).get(namespace or "", {}).get(name)

    def put(self, key, namespace, name, obj):
        self._objects.setdefault(key, {}).setdefault(namespace or "", {})[name] = obj

    def delete(self, key, namespace, name):
        self._applied.pop(key + (namespace or "", name), None)
        by_name = self._objects.get(key, {}).get(namespace or "", {})
        return by_name.pop(name, None)

    def list(self, key, namespace=None):
        """Objects sorted by (namespace, name), as etcd returns them."""
        by_namespace = self._objects.get(key, {})
        namespaces = [namespace or ""] if namespace is not None else sorted(by_namespace)
        for ns in namespaces:
            by_name = by_namespace.get(ns, {})
            for name in sorted(by_name):
                yield by_name[name]

    def keys(self):
        return list(self._objects)

    def drop_namespace(self, namespace):
        """Remove every object in a namespace (the namespace controller's job)."""
        for by_namespace in self._objects.values():
            by_namespace.pop(namespace, None)
        for applied_key in [k for k in self._applied if k[2] == namespace]:
            del self._applied[applied_key]
        for log_key in [k for k in self.pod_logs if k[0] == namespace]:
            del self.pod_logs[log_key]

    def drop_resource(self, key):
        """Remove every object of one resource (its CRD was deleted)."""
        self._objects.pop(key, None)
        for applied_key in [k for k in self._applied if k[:2] == key]:
            del self._applied[applied_key]

    def applied(self, key, namespace, name, manager):
        return self._applied.get(key + (namespace or "", name), {}).get(manager)

    def set_applied(self, key, namespace, name, manager, config):
        self._applied.setdefault(key + (namespace or "", name), {})[manager] = config

    def dump(self):
        return {"revision": self._revision,
                "objects": [obj for by_ns in self._objects.values() for by_name in by_ns.values()
                            for obj in by_name.values()]}

    def restore_revision(self, revision):
        self._revision = max(self._revision, int(revision))
