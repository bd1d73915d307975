"""The four PATCH flavours kube-apiserver accepts.

All functions return a new object and never mutate their inputs (stored
objects are shared with readers).
"""
import copy

# Lists that strategic merge patches merge item-by-item instead of replacing,
# keyed by field name (the patchMergeKey of the built-in types the server has).
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
# Scalar lists whose strategy is "merge": patch items are added, not replacing.
_MERGED_SCALAR_LISTS = {"finalizers"}


class PatchError(Exception):
    """A patch that cannot be applied to the object (answered with 422)."""


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    """RFC 6902 JSON patch."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("invalid json patch operation: %r" % (op,))
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(_required(op, "value")))
        elif kind == "remove":
            doc = _remove(doc, path)[0]
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path)[0], path, copy.deepcopy(_required(op, "value")))
        elif kind == "move":
            doc, value = _remove(doc, _required(op, "from"))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, _required(op, "from"))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError("testing value %s failed: test failed" % path)
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


def _required(op, key):
    if key not in op:
        raise PatchError("missing %r in json patch operation %r" % (key, op))
    return op[key]


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, path):
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot operate on the document root")
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, path)
    return node, parts[-1]


def _child(node, part, path):
    try:
        if isinstance(node, list):
            return node[int(part)]
        return node[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError("doc is missing path: %s" % path) from None


def _get(doc, path):
    node = doc
    for part in _pointer(path):
        node = _child(node, part, path)
    return node


def _add(doc, path, value):
    if path == "":
        return value
    node, last = _parent(doc, path)
    if isinstance(node, list):
        index = len(node) if last == "-" else _index(last, len(node) + 1, path)
        node.insert(index, value)
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise PatchError("doc is missing path: %s" % path)
    return doc


def _remove(doc, path):
    node, last = _parent(doc, path)
    if isinstance(node, list):
        return doc, node.pop(_index(last, len(node), path))
    if isinstance(node, dict) and last in node:
        return doc, node.pop(last)
    raise PatchError("unable to remove nonexistent key: %s: missing value" % last)


def _index(text, bound, path):
    try:
        index = int(text)
    except ValueError:
        raise PatchError("invalid array index in %s" % path) from None
    if not 0 <= index < bound:
        raise PatchError("index out of range in %s" % path)
    return index


def strategic_merge_patch(target, patch):
    """Strategic merge patch for built-in kinds: merge patch plus keyed list
    merging and the ``$patch``/``$retainKeys``/``$deleteFromPrimitiveList``
    directives. ``$setElementOrder`` is accepted and ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _merge_list(field, current, patch_items):
    if field in _MERGED_SCALAR_LISTS:
        return current + [v for v in patch_items if v not in current]
    merge_key = _MERGE_KEYS.get(field)
    if field == "ports":
        merge_key = "containerPort" if any("containerPort" in p for p in patch_items if isinstance(p, dict)) \
            else "port"
    if merge_key is None or not all(isinstance(p, dict) for p in patch_items):
        return copy.deepcopy(patch_items)
    result = list(current)
    for item in patch_items:
        position = next((i for i, c in enumerate(result)
                         if isinstance(c, dict) and c.get(merge_key) == item.get(merge_key)), None)
        if item.get("$patch") == "delete":
            if position is not None:
                result.pop(position)
        elif position is None:
            result.append({k: copy.deepcopy(v) for k, v in item.items() if k != "$patch"})
        else:
            result[position] = strategic_merge_patch(result[position], item)
    return result


def apply_patch(live, previous, applied):
    """Simplified server-side apply for one field manager: fields the manager
    applied last time but no longer applies are removed, then the new applied
    configuration is merged over the live object (maps merge, lists and
    scalars are replaced)."""
    result = _remove_dropped(live, previous, applied) if previous else dict(live)
    return _overlay(result, applied)


def _remove_dropped(live, previous, applied):
    result = dict(live)
    for key, old_value in previous.items():
        if key not in result:
            continue
        if key not in applied:
            del result[key]
        elif isinstance(old_value, dict) and isinstance(applied[key], dict) and isinstance(result[key], dict):
            result[key] = _remove_dropped(result[key], old_value, applied[key])
    return result


def _overlay(base, applied):
    result = dict(base)
    for key, value in applied.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _overlay(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
