"""The object cache: raw Kubernetes objects as the watches (or the manifests directory) last
saw them, found by source and name or by how a reference names them, and the reference graph
(which stored objects were mapped by looking at which others).

The status reporter, endpoint readiness and urlFrom following read it; it knows nothing of what
the objects turn into (that is the catalog's).
"""

from __future__ import annotations

from collections.abc import Mapping

from startpunkt.model import Reference
from startpunkt.shapes.kube import KubeObject

# (source name, namespace, name); the source name is qualified with the cluster (`qualified`)
ObjectKey = tuple[str, str, str]
Identity = tuple[str, str, str, str]  # (API group, kind, namespace, name)
CLUSTER_SEPARATOR = "::"


def qualified(cluster: str, source: str) -> str:
    """The store's name for a source of a cluster: the bare name for the local cluster (""),
    `<cluster>::<source>` for the others, so the same object in two clusters is two objects."""
    return f"{cluster}{CLUSTER_SEPARATOR}{source}" if cluster else source


def split_source(name: str) -> tuple[str, str]:
    """`qualified` undone: (cluster, source), the cluster "" for the local one."""
    cluster, sep, source = name.partition(CLUSTER_SEPARATOR)
    return (cluster, source) if sep else ("", name)


def cluster_of(key: ObjectKey) -> str:
    return split_source(key[0])[0]


def object_key(source: str, obj: KubeObject) -> ObjectKey:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return (source, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _identity(obj: KubeObject) -> Identity:
    """How references name an object, version aside."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return (
        group,
        str(obj.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _ref_identity(ref: Reference, namespace: str | None = None) -> Identity:
    group = ref.api_version.rpartition("/")[0]
    where = (ref.namespace or "") if namespace is None else namespace
    return (group, ref.kind, where, ref.name)


class ObjectCache:
    """Single-threaded like the rest of the core: only touched from the event loop."""

    def __init__(self) -> None:
        self._objects: dict[ObjectKey, KubeObject] = {}
        self._identities: dict[tuple[str, Identity], ObjectKey] = {}  # by (cluster, identity)
        self._dependents: dict[Reference, set[ObjectKey]] = {}
        # referenced identities -> references, also under namespace "" so a cluster-scoped
        # object finds references that named a namespace (as `find` does)
        self._referents: dict[Identity, set[Reference]] = {}

    # -- reading ---------------------------------------------------------------------------

    def objects(self, source: str) -> list[KubeObject]:
        return [obj for key, obj in self._objects.items() if key[0] == source]

    def items(self) -> list[tuple[ObjectKey, KubeObject]]:
        return list(self._objects.items())

    def get(self, key: ObjectKey) -> KubeObject | None:
        return self._objects.get(key)

    def get_object(self, source: str, namespace: str, name: str) -> KubeObject | None:
        return self._objects.get((source, namespace, name))

    def keys_of(self, source: str, namespace: str | None = None) -> list[ObjectKey]:
        """The stored keys of `source` (in `namespace`, or everywhere)."""
        return [
            k for k in self._objects if k[0] == source and (namespace is None or k[1] == namespace)
        ]

    def references(self, cluster: str | None = None) -> set[Reference]:
        """Every object some mapping (of objects in `cluster`, if given) looked at."""
        if cluster is None:
            return set(self._dependents)
        return {
            ref
            for ref, keys in self._dependents.items()
            if any(cluster_of(key) == cluster for key in keys)
        }

    def find(self, ref: Reference, cluster: str = "") -> KubeObject | None:
        """The stored object of `cluster` a reference points at, whatever version it was read
        with."""
        key = self._identities.get((cluster, _ref_identity(ref)))
        if key is None and ref.namespace:  # a cluster-scoped target named with a namespace
            key = self._identities.get((cluster, _ref_identity(ref, "")))
        return self._objects.get(key) if key else None

    def dependents(self, key: ObjectKey, obj: KubeObject) -> list[ObjectKey]:
        """The stored objects whose mapping looked at `obj` (stored as `key`, which is left
        out), in key order."""
        refs = self._referents.get(_identity(obj))
        if not refs:
            return []
        cluster = cluster_of(key)
        found = {
            k for ref in refs for k in self._dependents.get(ref, ()) if cluster_of(k) == cluster
        }
        return sorted(k for k in found if k in self._objects and k != key)

    # -- writing ---------------------------------------------------------------------------

    def keep(self, key: ObjectKey, obj: KubeObject) -> None:
        self._objects[key] = obj
        self._identities[(cluster_of(key), _identity(obj))] = key

    def drop(self, key: ObjectKey) -> KubeObject:
        obj = self._objects.pop(key)
        if self._identities.get(ident := (cluster_of(key), _identity(obj))) == key:
            del self._identities[ident]
        return obj

    def track(self, key: ObjectKey, dropped: set[Reference], added: set[Reference]) -> bool:
        """`key`'s mapping stopped or started looking at these objects; True when the set of
        referenced objects changed (so the ones to watch may have)."""
        before = len(self._dependents)
        for ref in dropped:
            dependents = self._dependents.get(ref, set())
            dependents.discard(key)
            if not dependents:
                self._dependents.pop(ref, None)
                for identity in {_ref_identity(ref), _ref_identity(ref, "")}:
                    self._referents.get(identity, set()).discard(ref)
                    if not self._referents.get(identity, True):
                        del self._referents[identity]
        for ref in added:
            self._dependents.setdefault(ref, set()).add(key)
            for identity in {_ref_identity(ref), _ref_identity(ref, "")}:
                self._referents.setdefault(identity, set()).add(ref)
        return bool(dropped) or len(self._dependents) != before
