"""Fan-out of store changes to every open event stream.

Each change is encoded once and shared by every subscriber. A subscriber's backlog is bounded
and coalesced per item: if a client falls behind, it still receives the final state of every
item it missed, never stale intermediate ones, and one that falls too far behind is told to
resync instead of holding memory. Nothing here ever waits on a client, so a stalled browser
cannot delay anyone else.

A stream filtered on tags sees an app whose tags changed as a removal or an addition when the
change moves the app out of or into its filter (`Retag`), so its page never keeps a stale card.
The same holds for who may see an item (`access`): a stream carries only the events of items its
viewer may see, and an item whose groups changed arrives as added or removed for a viewer it
became visible or hidden to. The removal and addition are encoded once with the change, so no
stream encodes anything of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from startpunkt.access import OPEN, Audience, Policy, allowed
from startpunkt.model import Application, Bookmark, Item
from startpunkt.shapes import application, bookmark, iso, item_key
from startpunkt.store import Change, Notice, Resync, Store

log = logging.getLogger(__name__)

_TYPES = {
    (Application, "added"): "APPLICATION_ADDED",
    (Application, "updated"): "APPLICATION_UPDATED",
    (Application, "removed"): "APPLICATION_REMOVED",
    (Application, "status"): "STATUS_CHANGED",
    (Bookmark, "added"): "BOOKMARK_ADDED",
    (Bookmark, "updated"): "BOOKMARK_UPDATED",
    (Bookmark, "removed"): "BOOKMARK_REMOVED",
}


class TooManyClients(Exception):
    """The connection cap is reached."""


@dataclass(frozen=True, slots=True)
class Retag:
    """An update that changed an item's tags or groups, as filtered streams must see it.

    A stream that matched only the old tags (or whose viewer could see only the old groups) must
    drop the card (`gone`); one that matches only the new ones has never been sent the item
    (`appeared`).
    """

    previous: tuple[str, ...] | None  # tags before (None for bookmarks)
    gone: Event
    appeared: Event
    previous_groups: tuple[str, ...] | None = None  # groups before


@dataclass(frozen=True, slots=True)
class Event:
    id: int | None
    type: str
    data: str  # the encoded envelope {"type", "timestamp", "data"}
    key: str = ""
    tags: tuple[str, ...] | None = None  # an app's tags, for per-stream tag filters
    retag: Retag | None = None
    groups: tuple[str, ...] | None = None  # an item's groups (access); None: for everyone

    @staticmethod
    def build(
        type_: str,
        data: object,
        *,
        id_: int | None = None,
        key: str = "",
        tags: tuple[str, ...] | None = None,
        timestamp: float | None = None,
    ) -> Event:
        envelope = {"type": type_, "timestamp": iso(timestamp or time.time()), "data": data}
        return Event(id_, type_, json.dumps(envelope, separators=(",", ":")), key, tags)


def encode(
    change: Change,
    previous_tags: tuple[str, ...] | None = None,
    previous_groups: tuple[str, ...] | None = None,
) -> Event:
    """One change as an event; `previous_tags` and `previous_groups` are an updated item's tags
    and groups before the change."""
    item = change.item
    kind = type(item)
    type_ = _TYPES[(kind, change.action)]
    if change.action == "removed":
        data = item_key(item)
    elif isinstance(item, Application):
        data = application(item, change.availability)
    else:
        data = bookmark(item)
    tags = item.tags if isinstance(item, Application) else None
    event = replace(
        Event.build(
            type_, data, id_=change.revision, key=item.key, tags=tags, timestamp=change.timestamp
        ),
        groups=item.groups,
    )
    retagged = tags is not None and previous_tags is not None and previous_tags != tags
    regrouped = previous_groups is not None and previous_groups != item.groups
    if change.action == "removed" or not (retagged or regrouped):
        return event
    before_tags = previous_tags if tags is not None else None
    gone = Event.build(
        _TYPES[(kind, "removed")],
        item_key(item),
        id_=change.revision,
        key=item.key,
        tags=before_tags,
        timestamp=change.timestamp,
    )
    appeared = Event.build(
        _TYPES[(kind, "added")],
        data,
        id_=change.revision,
        key=item.key,
        tags=tags,
        timestamp=change.timestamp,
    )
    before_groups = item.groups if previous_groups is None else previous_groups
    retag = Retag(
        before_tags,
        replace(gone, groups=before_groups),
        replace(appeared, groups=item.groups),
        before_groups,
    )
    return replace(event, retag=retag)


def _matches(tags: tuple[str, ...], wanted: frozenset[str]) -> bool:
    """`shapes.matches_tags` on raw tags: any tag in common, and untagged always matches."""
    return not tags or not wanted.isdisjoint(t.casefold() for t in tags)


def _merge(older: Event, newer: Event) -> Event:
    """Coalesces two pending events for one item into the one that leaves the same end state."""
    keep_older_type = (older.type.endswith("_ADDED") and not newer.type.endswith("_REMOVED")) or (
        older.type.endswith("_UPDATED") and newer.type == "STATUS_CHANGED"
    )
    if not keep_older_type:
        return newer
    envelope = json.loads(newer.data)
    envelope["type"] = older.type
    return replace(newer, type=older.type, data=json.dumps(envelope, separators=(",", ":")))


class Subscription:
    def __init__(
        self,
        hub: Hub,
        tags: frozenset[str] | None,
        limit: int,
        audience: Audience | None = None,
        policy: Policy = OPEN,
    ) -> None:
        self._hub = hub
        self._tags = tags
        # None: sees everything (access not configured, or an admin); no audience is anonymous
        seer = audience or Audience()
        self._audience = seer if policy.enabled and not seer.is_admin else None
        self._policy = policy
        self._limit = limit
        self._pending: OrderedDict[str, Event] = OrderedDict()
        self._wake = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed or self.overflowed:
            return
        seen = self._filter(event)
        if seen is None:
            return
        key = seen.key or f"#{seen.id}"
        older = self._pending.pop(key, None)
        self._pending[key] = _merge(older, seen) if older else seen
        if len(self._pending) > self._limit:
            # too far behind to be worth catching up item by item: drop the backlog
            self._pending.clear()
            self.overflowed = True
        self._wake.set()

    def _filter(self, event: Event) -> Event | None:
        """The event as this stream's tag filter and viewer see it, or None if it is not for
        it."""
        if (self._tags is None or event.tags is None) and (
            self._audience is None or event.groups is None
        ):
            return event
        now = self._sees(event.tags, event.groups)
        retag = event.retag
        before = now if retag is None else self._sees(retag.previous, retag.previous_groups)
        if now == before:
            return event if now else None
        assert retag is not None
        return retag.appeared if now else retag.gone

    def _sees(self, tags: tuple[str, ...] | None, groups: tuple[str, ...] | None) -> bool:
        if self._tags is not None and tags is not None and not _matches(tags, self._tags):
            return False
        audience = self._audience
        return audience is None or groups is None or allowed(audience, groups, self._policy)

    async def next(self, idle: float) -> list[Event]:
        """The pending events (none if nothing arrived within `idle` seconds), oldest first."""
        if not self._pending and not self.overflowed and not self.closed:
            try:
                async with asyncio.timeout(idle):
                    await self._wake.wait()
            except TimeoutError:
                pass
        self._wake.clear()
        batch = list(self._pending.values())
        self._pending.clear()
        return batch

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wake.set()
            self._hub.discard(self)


class Hub:
    def __init__(
        self, store: Store, replay: int = 2048, client_queue: int = 512, max_clients: int = 10000
    ) -> None:
        self._store = store
        self._ring: deque[Event] = deque(maxlen=replay)
        self._floor = store.revision  # events at or below this id cannot be replayed
        self._client_queue = client_queue
        self._max_clients = max_clients
        self._subscribers: set[Subscription] = set()
        self._tags = self._current_tags()  # app key -> tags, to notice retagging
        self._groups = self._current_groups()  # item key -> groups, to notice regrouping
        self._closed = False
        self.broadcasts = 0
        store.subscribe(self._on_notice)

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    @property
    def revision(self) -> int:
        return self._store.revision

    def connect(
        self,
        last_event_id: int | None = None,
        tags: frozenset[str] | None = None,
        audience: Audience | None = None,
        policy: Policy = OPEN,
    ) -> Subscription:
        """A new stream; with `last_event_id` it first receives what it missed (or a RESYNC).
        With `policy` enabled, it carries only what `audience` may see.

        After `close()` the stream is born closed, so a request racing shutdown ends at once.
        """
        sub = Subscription(self, tags, self._client_queue, audience, policy)
        if self._closed:
            sub.closed = True
            return sub
        if len(self._subscribers) >= self._max_clients:
            raise TooManyClients
        self._subscribers.add(sub)
        if last_event_id is not None and last_event_id != self._store.revision:
            missed = self._since(last_event_id)
            if missed is None:
                sub.offer(self.resync_event())
            else:
                for event in missed:
                    sub.offer(event)
        return sub

    def discard(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def close(self) -> None:
        """Ends every stream (shutdown); later connections end at once."""
        self._closed = True
        for sub in list(self._subscribers):
            sub.close()

    def resync_event(self) -> Event:
        return Event.build("RESYNC", {"revision": self._store.revision}, id_=self._store.revision)

    def publish(self, event: Event) -> None:
        """An event that is not a store change (CONFIG_CHANGED)."""
        for sub in list(self._subscribers):
            sub.offer(event)

    def _current_tags(self) -> dict[str, tuple[str, ...]]:
        return {app.key: app.tags for app in self._store.snapshot().applications}

    def _current_groups(self) -> dict[str, tuple[str, ...]]:
        snapshot = self._store.snapshot()
        items: list[Item] = [*snapshot.applications, *snapshot.bookmarks]
        return {item.key: item.groups for item in items}

    def _since(self, revision: int) -> Sequence[Event] | None:
        if revision > self._store.revision or revision < self._floor:
            return None
        if self._ring and self._ring[0].id is not None and self._ring[0].id > revision + 1:
            return None
        return [e for e in self._ring if e.id is not None and e.id > revision]

    def _on_notice(self, notice: Notice) -> None:
        if isinstance(notice, Resync):
            self._ring.clear()
            self._floor = notice.revision
            self._tags = self._current_tags()
            self._groups = self._current_groups()
            event = self.resync_event()
            for sub in list(self._subscribers):
                sub.offer(event)
            return
        for change in notice:
            event = encode(change, self._retrack(change), self._regroup(change))
            self._ring.append(event)
            for sub in list(self._subscribers):
                sub.offer(event)
            self.broadcasts += 1
            log.info("Broadcasted event: %s", event.type)  # the guide's wording

    def _regroup(self, change: Change) -> tuple[str, ...] | None:
        """Records an item's current groups; returns its groups before this change, if known."""
        key = change.item.key
        if change.action == "removed":
            return self._groups.pop(key, None)
        previous = self._groups.get(key)
        self._groups[key] = change.item.groups
        return previous

    def _retrack(self, change: Change) -> tuple[str, ...] | None:
        """Records an app's current tags; returns its tags before this change, if known."""
        item = change.item
        if not isinstance(item, Application):
            return None
        if change.action == "removed":
            return self._tags.pop(item.key, None)
        previous = self._tags.get(item.key)
        self._tags[item.key] = item.tags
        return previous
