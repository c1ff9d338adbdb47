"""The in-memory store: the single source of truth every response is read from.

Raw objects go in (from watches or the manifests directory) and are kept in the object cache;
each is mapped once to an Outcome, which the catalog turns into visible items with revisions.
When an object changes, the objects whose mapping looked at it are mapped again. Everything
that happens is announced on the catalog's one notification stream.

Single-threaded by design: it is only touched from the event loop, so it needs no locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from startpunkt.catalog import (
    Catalog,
    CatalogView,
    Change,
    Listener,
    Notice,
    ObjectsChanged,
    ProbeTarget,
    ReferencesChanged,
    Resync,
    Snapshot,
    probe_target,
)
from startpunkt.model import Application, Availability, Outcome
from startpunkt.objects import (
    CLUSTER_SEPARATOR,
    ObjectCache,
    ObjectKey,
    cluster_of,
    object_key,
    qualified,
    split_source,
)
from startpunkt.shapes.kube import KubeObject, ObjectEventType

__all__ = [
    "CLUSTER_SEPARATOR",
    "CatalogView",
    "Change",
    "KubeObject",
    "Listener",
    "Notice",
    "ObjectKey",
    "ObjectsChanged",
    "OutcomeOf",
    "ProbeTarget",
    "ReferencesChanged",
    "Resync",
    "Snapshot",
    "Store",
    "object_key",
    "probe_target",
    "qualified",
    "split_source",
]

# the outcome of one object of a source; None: the object is not a candidate itself, only
# something others may refer to
OutcomeOf = Callable[[str, KubeObject], Outcome | None]


class Store:
    """The object cache and the catalog, joined by a mapper.

    The mapper reads `objects` (urlFrom targets, Gateways), so the caller builds the cache
    first and hands it to both.
    """

    def __init__(
        self,
        mapper: OutcomeOf,
        *,
        objects: ObjectCache | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.mapper = mapper
        self.objects = objects if objects is not None else ObjectCache()
        self.catalog = catalog if catalog is not None else Catalog()

    # -- reading (what the catalog and the cache answer) --------------------------------------

    @property
    def revision(self) -> int:
        return self.catalog.revision

    def snapshot(self) -> Snapshot:
        return self.catalog.snapshot()

    def outcomes(self) -> list[Outcome]:
        return self.catalog.outcomes()

    def outcome(self, source: str, namespace: str, name: str) -> Outcome | None:
        return self.catalog.outcome((source, namespace, name))

    def availability_of(self, app: Application) -> Availability:
        return self.catalog.availability.of(app)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.catalog.notices.subscribe(listener)

    # -- writing ---------------------------------------------------------------------------

    def apply(self, source: str, event: ObjectEventType, obj: KubeObject) -> list[Change]:
        """One watch event."""
        key = object_key(source, obj)
        if event == "DELETED":
            if self.objects.get(key) is not None:
                self.objects.drop(key)
            outcome = None
        else:
            self.objects.keep(key, obj)
            outcome = self.mapper(source, obj)
        changes = self._set_outcome(key, outcome)
        changes += self._remap_dependents(key, obj)
        self.catalog.publish(changes)
        self.catalog.notices.publish(ObjectsChanged(source))
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
        deleted during it. `quiet` (the first sync) announces one Resync instead of a storm of
        additions.
        """
        fresh = {object_key(source, obj): obj for obj in objects}
        changes: list[Change] = []
        for key in [k for k in self.objects.keys_of(source, namespace) if k not in fresh]:
            gone = self.objects.drop(key)
            changes += self._set_outcome(key, None)
            changes += self._remap_dependents(key, gone)
        for key, obj in fresh.items():
            if self.objects.get(key) is obj:
                continue
            self.objects.keep(key, obj)
            changes += self._set_outcome(key, self.mapper(source, obj))
            changes += self._remap_dependents(key, obj)
        self.catalog.notices.publish(ObjectsChanged(source))
        if quiet and changes:
            self.catalog.resync()
        else:
            self.catalog.publish(changes)
        return changes

    def remap_all(self, mapper: OutcomeOf | None = None) -> list[Change]:
        """Maps every object again (with `mapper` from now on, when given: the mapping
        settings changed); differences are announced."""
        if mapper is not None:
            self.mapper = mapper
        return self.remap_cluster(None)

    def remap_cluster(self, cluster: str | None) -> list[Change]:
        """Maps every object of `cluster` (None: of every cluster) again, e.g. when the cluster
        turned stale or came back; differences are announced."""
        changes: list[Change] = []
        for key, obj in self.objects.items():
            if cluster is None or cluster_of(key) == cluster:
                changes += self._set_outcome(key, self.mapper(key[0], obj))
        self.catalog.publish(changes)
        return changes

    def set_availability(self, target: ProbeTarget, availability: Availability) -> list[Change]:
        return self.catalog.set_availability(target, availability)

    # -- internals -------------------------------------------------------------------------

    def _remap_dependents(self, key: ObjectKey, obj: KubeObject) -> list[Change]:
        """Objects that looked at `obj` while being mapped are mapped again."""
        changes: list[Change] = []
        for dependent in self.objects.dependents(key, obj):
            found = self.objects.get(dependent)
            if found is not None:
                changes += self._set_outcome(dependent, self.mapper(dependent[0], found))
        return changes

    def _set_outcome(self, key: ObjectKey, outcome: Outcome | None) -> list[Change]:
        previous = self.catalog.outcome_of(key)
        old_refs = set(previous.depends_on) if previous else set()
        new_refs = set(outcome.depends_on) if outcome else set()
        if old_refs != new_refs and self.objects.track(
            key, old_refs - new_refs, new_refs - old_refs
        ):
            self.catalog.notices.publish(ReferencesChanged())
        return self.catalog.set_outcome(key, outcome)
