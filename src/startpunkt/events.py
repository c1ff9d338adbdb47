"""Fan-out of store changes to every open event stream.

Each change is encoded once and shared by every subscriber. A subscriber's backlog is bounded
and coalesced per item: if a client falls behind, it still receives the final state of every
item it missed, never stale intermediate ones, and one that falls too far behind is told to
resync instead of holding memory. Nothing here ever waits on a client, so a stalled browser
cannot delay anyone else.

A stream filtered on tags sees an app whose tags changed as a removal or an addition when the
change moves the app out of or into its filter (`Retag`), so its page never keeps a stale card.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from startpunkt.model import Application, Bookmark
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
    """An app update that changed the app's tags, as streams filtered on tags must see it.

    A stream that matched only the old tags must drop the card (`gone`); one that matches only
    the new tags has never been sent the app (`appeared`).
    """

    previous: tuple[str, ...]
    gone: Event
    appeared: Event


@dataclass(frozen=True, slots=True)
class Event:
    id: int | None
    type: str
    data: str  # the encoded envelope {"type", "timestamp", "data"}
    key: str = ""
    tags: tuple[str, ...] | None = None  # an app's tags, for per-stream tag filters
    retag: Retag | None = None

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


def encode(change: Change, previous_tags: tuple[str, ...] | None = None) -> Event:
    """One change as an event; `previous_tags` are an updated app's tags before the change."""
    item = change.item
    type_ = _TYPES[(type(item), change.action)]
    if change.action == "removed":
        data = item_key(item)
    elif isinstance(item, Application):
        data = application(item, change.availability)
    else:
        data = bookmark(item)
    tags = item.tags if isinstance(item, Application) else None
    event = Event.build(
        type_, data, id_=change.revision, key=item.key, tags=tags, timestamp=change.timestamp
    )
    if tags is None or previous_tags is None or previous_tags == tags:
        return event
    gone = Event.build(
        "APPLICATION_REMOVED",
        item_key(item),
        id_=change.revision,
        key=item.key,
        tags=previous_tags,
        timestamp=change.timestamp,
    )
    appeared = Event.build(
        "APPLICATION_ADDED",
        data,
        id_=change.revision,
        key=item.key,
        tags=tags,
        timestamp=change.timestamp,
    )
    return replace(event, retag=Retag(previous_tags, gone, appeared))


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
    def __init__(self, hub: Hub, tags: frozenset[str] | None, limit: int) -> None:
        self._hub = hub
        self._tags = tags
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
        """The event as this stream's tag filter sees it, or None if it is not for it."""
        if self._tags is None or event.tags is None:
            return event
        now = _matches(event.tags, self._tags)
        before = now if event.retag is None else _matches(event.retag.previous, self._tags)
        if now == before:
            return event if now else None
        assert event.retag is not None
        return event.retag.appeared if now else event.retag.gone

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
        self, last_event_id: int | None = None, tags: frozenset[str] | None = None
    ) -> Subscription:
        """A new stream; with `last_event_id` it first receives what it missed (or a RESYNC).

        After `close()` the stream is born closed, so a request racing shutdown ends at once.
        """
        sub = Subscription(self, tags, self._client_queue)
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
            event = self.resync_event()
            for sub in list(self._subscribers):
                sub.offer(event)
            return
        for change in notice:
            event = encode(change, self._retrack(change))
            self._ring.append(event)
            for sub in list(self._subscribers):
                sub.offer(event)
            self.broadcasts += 1
            log.info("Broadcasted event: %s", event.type)  # the guide's wording

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
