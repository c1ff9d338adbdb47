"""Feeds a real catalog with outcomes made from test objects, the way the store would after
mapping them: the web and checker tests then exercise their own layer, not the sources.

`apply` is one watch event, `replace` a whole listing (what is missing from it goes), and
`set_availability` a probe result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from startpunkt.catalog import Catalog, Change, ProbeTarget
from startpunkt.model import Availability, Outcome
from startpunkt.objects import ObjectKey, object_key, split_source

Obj = Mapping[str, Any]


class Feed:
    def __init__(self, catalog: Catalog, outcome_of: Callable[[str, Obj], Outcome | None]) -> None:
        self.catalog = catalog
        self.outcome_of = outcome_of
        self._objects: dict[ObjectKey, Obj] = {}

    @property
    def revision(self) -> int:
        return self.catalog.revision

    def snapshot(self) -> Any:
        return self.catalog.snapshot()

    def exists(self, source: str, namespace: str, name: str) -> bool:
        return (source, namespace, name) in self._objects

    def apply(self, source: str, event: str, obj: Obj) -> list[Change]:
        key = object_key(source, obj)
        if event == "DELETED":
            self._objects.pop(key, None)
            return self.catalog.update([(key, None)])
        self._objects[key] = obj
        return self.catalog.update([(key, self.outcome_of(source, obj))])

    def replace(self, source: str, objects: Iterable[Obj], quiet: bool = False) -> list[Change]:
        fresh = {object_key(source, obj): obj for obj in objects}
        gone = [k for k in sorted(self._objects) if k[0] == source and k not in fresh]
        for key in gone:
            del self._objects[key]
        self._objects.update(fresh)
        updates: list[tuple[ObjectKey, Outcome | None]] = [(k, None) for k in gone]
        updates += [(k, self.outcome_of(source, obj)) for k, obj in fresh.items()]
        changes = [c for key, outcome in updates for c in self.catalog.set_outcome(key, outcome)]
        if quiet and changes:
            self.catalog.resync()
        else:
            self.catalog.publish(changes)
        return changes

    def remap_cluster(self, cluster: str | None) -> list[Change]:
        """Every object of `cluster` (None: of every cluster) turned into an outcome again."""
        return self.catalog.update(
            (key, self.outcome_of(key[0], obj))
            for key, obj in list(self._objects.items())
            if cluster is None or split_source(key[0])[0] == cluster
        )

    def set_availability(self, target: ProbeTarget, availability: Availability) -> list[Change]:
        return self.catalog.set_availability(target, availability)


_feeds: WeakKeyDictionary[Catalog, Feed] = WeakKeyDictionary()


def feed_of(catalog: Any, outcome_of: Callable[[str, Obj], Outcome | None]) -> Feed:
    """The one feed of `catalog` (so a later `replace` knows what an earlier one put in)."""
    found = _feeds.get(catalog)
    if found is None:
        found = _feeds[catalog] = Feed(catalog, outcome_of)
    return found
