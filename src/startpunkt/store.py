"""The in-memory store: the single source of truth every response is read from.

Raw objects go in (from watches or the manifests directory); each is mapped once to an Outcome,
and the store diffs the visible apps and bookmarks before and after, so every change becomes a
precise added/updated/removed record with its own revision. An update that changes nothing a
user can see (status, managedFields, resourceVersion) maps to the same items and records nothing.

Single-threaded by design: it is only touched from the event loop, so it needs no locks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from startpunkt.model import (
    UNKNOWN,
    Application,
    Availability,
    Bookmark,
    ChangeAction,
    Item,
    Outcome,
    Reference,
    Verdict,
)
from startpunkt.shapes.kube import KubeObject, ObjectEventType

log = logging.getLogger(__name__)

# (source name, namespace, name); the source name is qualified with the cluster (`qualified`)
ObjectKey = tuple[str, str, str]
CLUSTER_SEPARATOR = "::"


def qualified(cluster: str, source: str) -> str:
    """The store's name for a source of a cluster: the bare name for the local cluster (""),
    `<cluster>::<source>` for the others, so the same object in two clusters is two objects."""
    return f"{cluster}{CLUSTER_SEPARATOR}{source}" if cluster else source


def split_source(name: str) -> tuple[str, str]:
    """`qualified` undone: (cluster, source), the cluster "" for the local one."""
    cluster, sep, source = name.partition(CLUSTER_SEPARATOR)
    return (cluster, source) if sep else ("", name)


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """What the availability checker probes; apps that share a target share one result."""

    url: str
    accepted: frozenset[int] | None = None
    timeout: float | None = None


def probe_target(app: Application) -> ProbeTarget | None:
    if not app.probe.enabled:
        return None
    url = app.probe.url or app.url
    if not url:
        return None
    return ProbeTarget(url, app.probe.accepted, app.probe.timeout)


@dataclass(frozen=True, slots=True)
class Change:
    revision: int
    action: ChangeAction
    item: Item  # the new value; the last value for "removed"
    availability: Availability = UNKNOWN
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Resync:
    """Everything may have changed at once (a first sync); clients should refetch."""

    revision: int


Notice = Sequence[Change] | Resync
Listener = Callable[[Notice], None]
# the outcome of one object of a source; None: the object is not a candidate itself, only
# something others may refer to
OutcomeOf = Callable[[str, KubeObject], Outcome | None]


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    applications: tuple[Application, ...]
    bookmarks: tuple[Bookmark, ...]
    availability: Mapping[str, Availability]  # by application key


def _url_key(item: Item) -> str | None:
    """Two items pointing at the same place (ignoring case of scheme/host and a trailing /)."""
    if not item.url:
        return None
    parts = urlsplit(item.url)
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    # the same link in two clusters is shown twice, each with its cluster
    return f"{item.cluster}|{type(item).__name__}|{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


Identity = tuple[str, str, str, str]  # (API group, kind, namespace, name)


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


def object_key(source: str, obj: KubeObject) -> ObjectKey:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return (source, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Store:
    def __init__(
        self,
        mapper: OutcomeOf,
        precedence: Mapping[str, int] | None = None,
        first_revision: int = 0,
    ) -> None:
        self.mapper = mapper
        self._precedence = dict(precedence or {})
        self._objects: dict[ObjectKey, KubeObject] = {}
        self._identities: dict[tuple[str, Identity], ObjectKey] = {}  # by (cluster, identity)
        self._outcomes: dict[ObjectKey, Outcome] = {}
        self._candidates: dict[str, Item] = {}  # every shown item, before de-duplication
        self._by_url: dict[str, set[str]] = {}
        self._visible: dict[str, Item] = {}
        self._dependents: dict[Reference, set[ObjectKey]] = {}
        # referenced identities -> references, also under namespace "" so a cluster-scoped
        # object finds references that named a namespace (as `find` does)
        self._referents: dict[Identity, set[Reference]] = {}
        self._availability: dict[ProbeTarget, Availability] = {}
        self._by_target: dict[ProbeTarget, set[str]] = {}
        self._listeners: list[Listener] = []
        # called when the set of referenced objects changes, so they can be watched
        self.reference_listeners: list[Callable[[], None]] = []
        # called with the source name whenever a raw object of it changes, shown or not
        self.object_listeners: list[Callable[[str], None]] = []
        self._snapshot: Snapshot | None = None
        # revisions are event ids; a process starts where no earlier process could have been
        self.revision = first_revision

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The visible state, rebuilt only when the revision moved."""
        if self._snapshot is None or self._snapshot.revision != self.revision:
            apps = sorted(
                (i for i in self._visible.values() if isinstance(i, Application)),
                key=lambda a: (*a.sort_key, a.key),
            )
            marks = sorted(
                (i for i in self._visible.values() if isinstance(i, Bookmark)),
                key=lambda b: (*b.sort_key, b.key),
            )
            self._snapshot = Snapshot(
                self.revision,
                tuple(apps),
                tuple(marks),
                {a.key: self.availability_of(a) for a in apps},
            )
        return self._snapshot

    def availability_of(self, app: Application) -> Availability:
        target = probe_target(app)
        return self._availability.get(target, UNKNOWN) if target else UNKNOWN

    def target_availability(self, target: ProbeTarget) -> Availability:
        return self._availability.get(target, UNKNOWN)

    def outcomes(self) -> list[Outcome]:
        """Every candidate object's verdict; a shown object whose link another source already
        shows is reported as hidden, naming the one that is shown."""
        return sorted((self._as_seen(o) for o in self._outcomes.values()), key=lambda o: o.ref)

    def outcome(self, source: str, namespace: str, name: str) -> Outcome | None:
        """One object's verdict, as `outcomes()` reports it."""
        found = self._outcomes.get((source, namespace, name))
        return self._as_seen(found) if found else None

    def _as_seen(self, outcome: Outcome) -> Outcome:
        shadowed = [i for i in outcome.items if self._visible.get(i.key) != i]
        return self._shadowed(outcome, shadowed[0]) if shadowed else outcome

    def _shadowed(self, outcome: Outcome, item: Item) -> Outcome:
        url_key = _url_key(item)
        winner = self._winner(url_key) if url_key else None
        shown = self._visible.get(winner) if winner else None
        reason = (
            f"the same link is already shown by {shown.source} {shown.namespace}/"
            f"{shown.resource_name}, which takes precedence"
            if shown
            else "the same link is already shown by another source"
        )
        return replace(outcome, verdict=Verdict.HIDDEN, items=(), reason=reason)

    def objects(self, source: str) -> list[KubeObject]:
        return [obj for key, obj in self._objects.items() if key[0] == source]

    def get_object(self, source: str, namespace: str, name: str) -> KubeObject | None:
        return self._objects.get((source, namespace, name))

    def references(self, cluster: str | None = None) -> set[Reference]:
        """Every object some mapping (of objects in `cluster`, if given) looked at."""
        if cluster is None:
            return set(self._dependents)
        return {
            ref
            for ref, keys in self._dependents.items()
            if any(split_source(key[0])[0] == cluster for key in keys)
        }

    def find(self, ref: Reference, cluster: str = "") -> KubeObject | None:
        """The stored object of `cluster` a reference points at, whatever version it was read
        with."""
        key = self._identities.get((cluster, _ref_identity(ref)))
        if key is None and ref.namespace:  # a cluster-scoped target named with a namespace
            key = self._identities.get((cluster, _ref_identity(ref, "")))
        return self._objects.get(key) if key else None

    def probe_targets(self) -> set[ProbeTarget]:
        return set(self._by_target)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- writing ---------------------------------------------------------------------------

    def apply(self, source: str, event: ObjectEventType, obj: KubeObject) -> list[Change]:
        """One watch event."""
        key = object_key(source, obj)
        if event == "DELETED":
            if key in self._objects:
                self._drop(key)
            outcome = None
        else:
            self._keep(key, obj)
            outcome = self.mapper(source, obj)
        changes = self._set_outcome(key, outcome)
        changes += self._remap_dependents(source, obj)
        self._publish(changes)
        for listener in self.object_listeners:
            listener(source)
        return changes

    def replace(
        self,
        source: str,
        objects: Iterable[KubeObject],
        *,
        namespace: str | None = None,
        quiet: bool = False,
    ) -> list[Change]:
        """A full listing of `source` (in `namespace`, or everywhere): the store is made to match.

        Objects missing from the listing are deleted, so a relist after a gap reports what was
        deleted during it. `quiet` (the first sync) records one Resync instead of a storm of
        additions.
        """
        fresh = {object_key(source, obj): obj for obj in objects}
        stale = [
            k
            for k in self._objects
            if k[0] == source and (namespace is None or k[1] == namespace) and k not in fresh
        ]
        changes: list[Change] = []
        for key in stale:
            gone = self._drop(key)
            changes += self._set_outcome(key, None)
            changes += self._remap_dependents(source, gone)
        for key, obj in fresh.items():
            if self._objects.get(key) is obj:
                continue
            self._keep(key, obj)
            changes += self._set_outcome(key, self.mapper(source, obj))
            changes += self._remap_dependents(source, obj)
        for listener in self.object_listeners:
            listener(source)
        if quiet and changes:
            self._notify(Resync(self.revision))
            return changes
        self._publish(changes)
        return changes

    def remap_all(self) -> list[Change]:
        """Maps every object again (the mapping settings changed); differences are recorded."""
        return self.remap_cluster(None)

    def remap_cluster(self, cluster: str | None) -> list[Change]:
        """Maps every object of `cluster` (None: of every cluster) again, e.g. when the cluster
        turned stale or came back; differences are recorded."""
        changes: list[Change] = []
        for key, obj in list(self._objects.items()):
            if cluster is not None and split_source(key[0])[0] != cluster:
                continue
            changes += self._set_outcome(key, self.mapper(key[0], obj))
        self._publish(changes)
        return changes

    def set_availability(self, target: ProbeTarget, availability: Availability) -> list[Change]:
        """A probe result; a status change is recorded once per app that shares the target."""
        before = self._availability.get(target, UNKNOWN)
        self._availability[target] = availability
        if before.state == availability.state:
            # still worth a new snapshot (latency, lastChecked), but not a change record
            self._snapshot = None
            return []
        changes = [
            self._record("status", self._visible[k], availability)
            for k in sorted(self._by_target.get(target, ()))
        ]
        self._publish(changes)
        return changes

    def forget_availability(self, keep: set[ProbeTarget]) -> None:
        for target in [t for t in self._availability if t not in keep]:
            del self._availability[target]

    # -- internals -------------------------------------------------------------------------

    def _track_references(
        self, key: ObjectKey, dropped: set[Reference], added: set[Reference]
    ) -> None:
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
        if dropped or len(self._dependents) != before:
            for listener in self.reference_listeners:
                listener()

    def _keep(self, key: ObjectKey, obj: KubeObject) -> None:
        self._objects[key] = obj
        self._identities[(split_source(key[0])[0], _identity(obj))] = key

    def _drop(self, key: ObjectKey) -> KubeObject:
        obj = self._objects.pop(key)
        if self._identities.get(ident := (split_source(key[0])[0], _identity(obj))) == key:
            del self._identities[ident]
        return obj

    def _remap_dependents(self, source: str, obj: KubeObject) -> list[Change]:
        """Objects that looked at `obj` while being mapped are mapped again."""
        refs = self._referents.get(_identity(obj))
        if not refs:
            return []
        itself = object_key(source, obj)
        cluster = split_source(source)[0]
        dependents = {
            key
            for ref in refs
            for key in self._dependents.get(ref, ())
            if split_source(key[0])[0] == cluster
        }
        changes: list[Change] = []
        for key in sorted(dependents):
            if key in self._objects and key != itself:
                changes += self._set_outcome(key, self.mapper(key[0], self._objects[key]))
        return changes

    def _set_outcome(self, key: ObjectKey, outcome: Outcome | None) -> list[Change]:
        previous = self._outcomes.pop(key, None)
        if outcome is not None:
            self._outcomes[key] = outcome
        old_refs = set(previous.depends_on) if previous else set()
        new_refs = set(outcome.depends_on) if outcome else set()
        if old_refs != new_refs:
            self._track_references(key, old_refs - new_refs, new_refs - old_refs)
        old = previous.items if previous and previous.verdict is Verdict.SHOWN else ()
        new = outcome.items if outcome and outcome.verdict is Verdict.SHOWN else ()
        if old == new:
            return []
        affected: set[str] = set()
        for item in old:
            self._candidates.pop(item.key, None)
            affected.add(item.key)
            if (u := _url_key(item)) is not None:
                self._by_url.get(u, set()).discard(item.key)
                affected |= self._by_url.get(u, set())
        for item in new:
            self._candidates[item.key] = item
            affected.add(item.key)
            if (u := _url_key(item)) is not None:
                self._by_url.setdefault(u, set()).add(item.key)
                affected |= self._by_url[u]
        return [c for k in sorted(affected) if (c := self._settle(k)) is not None]

    def _winner(self, url_key: str) -> str | None:
        keys = self._by_url.get(url_key)
        if not keys:
            return None
        return min(
            keys,
            key=lambda k: (self._precedence.get(self._candidates[k].source, 99), k),
        )

    def _settle(self, key: str) -> Change | None:
        """Brings the visible value of one item key in line with the candidates."""
        candidate = self._candidates.get(key)
        url_key = _url_key(candidate) if candidate is not None else None
        if url_key is not None and self._winner(url_key) != key:
            candidate = None  # the same link is shown by a source with precedence
        before = self._visible.get(key)
        if before == candidate:
            return None
        if candidate is None:
            assert before is not None
            del self._visible[key]
            self._index_target(before, add=False)
            return self._record("removed", before)
        self._visible[key] = candidate
        if before is not None:
            self._index_target(before, add=False)
        self._index_target(candidate, add=True)
        return self._record("added" if before is None else "updated", candidate)

    def _index_target(self, item: Item, add: bool) -> None:
        if not isinstance(item, Application) or (target := probe_target(item)) is None:
            return
        keys = self._by_target.setdefault(target, set())
        if add:
            keys.add(item.key)
        else:
            keys.discard(item.key)
            if not keys:
                del self._by_target[target]

    def _record(
        self, action: ChangeAction, item: Item, availability: Availability | None = None
    ) -> Change:
        self.revision += 1
        if availability is None:
            availability = self.availability_of(item) if isinstance(item, Application) else UNKNOWN
        return Change(self.revision, action, item, availability)

    def _publish(self, changes: list[Change]) -> None:
        if changes:
            self._notify(changes)

    def _notify(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # a broken subscriber must not stop the store
                log.exception("store listener failed")
