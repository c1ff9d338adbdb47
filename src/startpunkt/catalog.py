"""The catalog: what users see. Outcomes (one per Kubernetes object or manifest) go in; the
catalog de-duplicates their items by URL, gives every visible change its own revision, joins
each app's availability into the snapshot, and announces it all on one typed stream.

An update that changes nothing a user can see maps to the same items and records nothing.
Single-threaded by design: it is only touched from the event loop, so it needs no locks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlsplit

from startpunkt.model import (
    UNKNOWN,
    Application,
    Availability,
    Bookmark,
    ChangeAction,
    Item,
    Outcome,
    Verdict,
)
from startpunkt.objects import ObjectKey

log = logging.getLogger(__name__)


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


# -- the notification stream ---------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class ObjectsChanged:
    """A raw object of `source` changed, whether or not anything visible did."""

    source: str


@dataclass(frozen=True, slots=True)
class ReferencesChanged:
    """The set of objects some mapping refers to changed (so the ones to watch may have)."""


# visible changes (one revision each), a resync, or news from the object cache
Notice = Sequence[Change] | Resync | ObjectsChanged | ReferencesChanged
Listener = Callable[[Notice], None]


class Notices:
    """The one stream every reader of the core subscribes to."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # a broken subscriber must not stop the store
                log.exception("store listener failed")


# -- availability --------------------------------------------------------------------------


class Availabilities:
    """Probe results by target, and which visible apps share each target."""

    def __init__(self) -> None:
        self._results: dict[ProbeTarget, Availability] = {}
        self._apps: dict[ProbeTarget, set[str]] = {}

    def of(self, item: Item) -> Availability:
        if not isinstance(item, Application) or (target := probe_target(item)) is None:
            return UNKNOWN
        return self._results.get(target, UNKNOWN)

    def get(self, target: ProbeTarget) -> Availability:
        return self._results.get(target, UNKNOWN)

    def targets(self) -> set[ProbeTarget]:
        return set(self._apps)

    def apps(self, target: ProbeTarget) -> list[str]:
        return sorted(self._apps.get(target, ()))

    def record(self, target: ProbeTarget, availability: Availability) -> Availability:
        """Stores a result; returns the one before."""
        before = self._results.get(target, UNKNOWN)
        self._results[target] = availability
        return before

    def forget(self, keep: set[ProbeTarget]) -> None:
        for target in [t for t in self._results if t not in keep]:
            del self._results[target]

    def index(self, item: Item, *, add: bool) -> None:
        if not isinstance(item, Application) or (target := probe_target(item)) is None:
            return
        keys = self._apps.setdefault(target, set())
        if add:
            keys.add(item.key)
        else:
            keys.discard(item.key)
            if not keys:
                del self._apps[target]


# -- the catalog ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    applications: tuple[Application, ...]
    bookmarks: tuple[Bookmark, ...]
    availability: Mapping[str, Availability]  # by application key


class CatalogView(Protocol):
    """What the web layer reads: the catalog, without a way to change it."""

    @property
    def revision(self) -> int: ...

    def snapshot(self) -> Snapshot: ...

    def outcomes(self) -> list[Outcome]: ...


def _url_key(item: Item) -> str | None:
    """Two items pointing at the same place (ignoring case of scheme/host and a trailing /)."""
    if not item.url:
        return None
    parts = urlsplit(item.url)
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    # the same link in two clusters is shown twice, each with its cluster
    kind = type(item).__name__
    return f"{item.cluster}|{kind}|{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


class Catalog:
    def __init__(
        self,
        *,
        precedence: Mapping[str, int] | None = None,
        first_revision: int = 0,
        notices: Notices | None = None,
    ) -> None:
        """`precedence`: source name -> rank; of two items with the same link, the one from
        the lower rank is shown. Revisions are event ids: a process starts at `first_revision`,
        where no earlier process could have been."""
        self._precedence = dict(precedence or {})
        self.notices = notices or Notices()
        self.availability = Availabilities()
        self._outcomes: dict[ObjectKey, Outcome] = {}
        self._candidates: dict[str, Item] = {}  # every shown item, before de-duplication
        self._by_url: dict[str, set[str]] = {}
        self._visible: dict[str, Item] = {}
        self._snapshot: Snapshot | None = None
        self.revision = first_revision

    # -- reading ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.notices.subscribe(listener)

    def snapshot(self) -> Snapshot:
        """The visible state, rebuilt only when the revision moved."""
        if self._snapshot is None or self._snapshot.revision != self.revision:
            visible = self._visible.values()
            apps = sorted(
                (i for i in visible if isinstance(i, Application)),
                key=lambda a: (*a.sort_key, a.key),
            )
            marks = sorted(
                (i for i in visible if isinstance(i, Bookmark)), key=lambda b: (*b.sort_key, b.key)
            )
            availability = {a.key: self.availability.of(a) for a in apps}
            self._snapshot = Snapshot(self.revision, tuple(apps), tuple(marks), availability)
        return self._snapshot

    def outcomes(self) -> list[Outcome]:
        """Every candidate object's verdict; a shown object whose link another source already
        shows is reported as hidden, naming the one that is shown."""
        return sorted((self._as_seen(o) for o in self._outcomes.values()), key=lambda o: o.ref)

    def outcome(self, key: ObjectKey) -> Outcome | None:
        """One object's verdict, as `outcomes()` reports it."""
        found = self._outcomes.get(key)
        return self._as_seen(found) if found else None

    def outcome_of(self, key: ObjectKey) -> Outcome | None:
        """One object's outcome as it was set."""
        return self._outcomes.get(key)

    def _as_seen(self, outcome: Outcome) -> Outcome:
        shadowed = [i for i in outcome.items if self._visible.get(i.key) != i]
        if not shadowed:
            return outcome
        url_key = _url_key(shadowed[0])
        winner = self._winner(url_key) if url_key else None
        shown = self._visible.get(winner) if winner else None
        reason = (
            f"the same link is already shown by {shown.source} {shown.namespace}/"
            f"{shown.resource_name}, which takes precedence"
            if shown
            else "the same link is already shown by another source"
        )
        return replace(outcome, verdict=Verdict.HIDDEN, items=(), reason=reason)

    # -- writing ---------------------------------------------------------------------------

    def update(self, outcomes: Iterable[tuple[ObjectKey, Outcome | None]]) -> list[Change]:
        """Sets each object's outcome (None: the object is gone) and announces the changes."""
        changes = [c for key, outcome in outcomes for c in self.set_outcome(key, outcome)]
        self.publish(changes)
        return changes

    def set_outcome(self, key: ObjectKey, outcome: Outcome | None) -> list[Change]:
        """Records the visible changes one outcome makes, without announcing them (the
        caller publishes them with the rest of its update)."""
        previous = self._outcomes.pop(key, None)
        if outcome is not None:
            self._outcomes[key] = outcome
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

    def set_availability(self, target: ProbeTarget, availability: Availability) -> list[Change]:
        """A probe result; a status change is recorded once per app that shares the target."""
        before = self.availability.record(target, availability)
        if before.state == availability.state:
            # still worth a new snapshot (latency, lastChecked), but not a change record
            self._snapshot = None
            return []
        changes = [
            self._record("status", self._visible[k], availability)
            for k in self.availability.apps(target)
        ]
        self.publish(changes)
        return changes

    def publish(self, changes: list[Change]) -> None:
        if changes:
            self.notices.publish(changes)

    def resync(self) -> None:
        """Announces that everything may have changed at once (instead of each change)."""
        self.notices.publish(Resync(self.revision))

    # -- internals -------------------------------------------------------------------------

    def _winner(self, url_key: str) -> str | None:
        keys = self._by_url.get(url_key)
        if not keys:
            return None
        return min(keys, key=lambda k: (self._precedence.get(self._candidates[k].source, 99), k))

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
            self.availability.index(before, add=False)
            return self._record("removed", before)
        self._visible[key] = candidate
        if before is not None:
            self.availability.index(before, add=False)
        self.availability.index(candidate, add=True)
        return self._record("added" if before is None else "updated", candidate)

    def _record(
        self, action: ChangeAction, item: Item, availability: Availability | None = None
    ) -> Change:
        self.revision += 1
        if availability is None:
            availability = self.availability.of(item)
        return Change(self.revision, action, item, availability)
