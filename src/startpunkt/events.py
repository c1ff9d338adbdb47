"""Fan-out of store changes to every open event stream.

Each change is encoded once and shared by every subscriber. A subscriber's backlog is bounded
and coalesced per item: if a client falls behind, it still receives the final state of every
item it missed, never stale intermediate ones, and one that falls too far behind is told to
resync instead of holding memory. Nothing here ever waits on a client, so a stalled browser
cannot delay anyone else.

Each event is encoded once into the bytes that go on the wire: the JSON envelope (a WebSocket
text frame's payload), and the same as one Server-Sent Events message in one HTTP/1.1 chunk.
A subscription with a `sink` hands those bytes straight to its connection while it has no
backlog, so the common case costs one write per client and no task switch; only a client that
cannot take them at once gets a backlog, drained by its own writer.

A stream filtered on tags sees an app whose tags changed as a removal or an addition when the
change moves the app out of or into its filter (`Retag`), so its page never keeps a stale card.

A stream may see events through a `View`: another audience's encoding of the same change (the
start page's server-rendered cards in one language). A view's version of an event is made once,
the first time a stream of that audience takes it, and kept with the event, so a thousand pages
in one language cost one rendering per change, and a batch's wire bytes are joined once per view.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

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


def sse_message(data: str, id_: int | None = None, retry_ms: int | None = None) -> bytes:
    """One Server-Sent Events message: a plain `data:` line (read by `onmessage`), with `id:`
    for resuming. `data` is one line of JSON (json.dumps escapes newlines)."""
    head = b"" if retry_ms is None else b"retry: %d\n" % retry_ms
    if id_ is not None:
        head += b"id: %d\n" % id_
    return head + b"data: " + data.encode() + b"\n\n"


def http_chunk(payload: bytes) -> bytes:
    """`payload` as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)


@dataclass(frozen=True, slots=True)
class Event:
    id: int | None
    type: str
    data: str  # the encoded envelope {"type", "timestamp", "data"}
    key: str = ""
    tags: tuple[str, ...] | None = None  # an app's tags, for per-stream tag filters
    retag: Retag | None = None
    chunk: bytes = b""  # the SSE message as one HTTP chunk, built once for every stream
    change: Change | None = None  # the store change encoded, for views to encode it their way
    # each view's version of this event (View.name -> event), made when a stream first needs it
    variants: dict[str, Event] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def message(self) -> bytes:
        """The SSE message alone (for a writer that frames chunks itself)."""
        return self.chunk[self.chunk.index(b"\r\n") + 2 : -2]

    @staticmethod
    def wire(
        type_: str,
        data: str,
        *,
        id_: int | None = None,
        key: str = "",
        tags: tuple[str, ...] | None = None,
        change: Change | None = None,
    ) -> Event:
        chunk = http_chunk(sse_message(data, id_))
        return Event(id_, type_, data, key, tags, None, chunk, change)

    @staticmethod
    def build(
        type_: str,
        data: object,
        *,
        id_: int | None = None,
        key: str = "",
        tags: tuple[str, ...] | None = None,
        timestamp: float | None = None,
        change: Change | None = None,
    ) -> Event:
        envelope = {"type": type_, "timestamp": iso(timestamp or time.time()), "data": data}
        encoded = json.dumps(envelope, separators=(",", ":"))
        return Event.wire(type_, encoded, id_=id_, key=key, tags=tags, change=change)


class View:
    """An audience's encoding of events (`render`: an event -> that audience's event), made at
    most once per event: the result is kept in `Event.variants` under `name`. Events that encode
    no store change (RESYNC, CONFIG_CHANGED) are the same for every audience."""

    __slots__ = ("name", "render")

    def __init__(self, name: str, render: Callable[[Event], Event]) -> None:
        self.name = name
        self.render = render

    def __call__(self, event: Event) -> Event:
        if event.change is None:
            return event
        seen = event.variants.get(self.name)
        if seen is None:
            seen = event.variants[self.name] = self.render(event)
        return seen


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
        type_,
        data,
        id_=change.revision,
        key=item.key,
        tags=tags,
        timestamp=change.timestamp,
        change=change,
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
        change=change,
    )
    appeared = Event.build(
        "APPLICATION_ADDED",
        data,
        id_=change.revision,
        key=item.key,
        tags=tags,
        timestamp=change.timestamp,
        change=change,
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
    data = json.dumps(envelope, separators=(",", ":"))
    merged = Event.wire(
        older.type, data, id_=newer.id, key=newer.key, tags=newer.tags, change=newer.change
    )
    return replace(merged, retag=newer.retag)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _coalesce(into: OrderedDict[str, Event], event: Event) -> None:
    """Adds `event` to a batch keyed by item: a later event for the same item replaces the
    earlier one (merged so it leaves the same end state) and moves to the end."""
    key = event.key or f"#{event.id}"
    older = into.pop(key, None)
    into[key] = _merge(older, event) if older else event


class Batch:
    """The events of one loop iteration, coalesced per item, with their wire bytes built once
    (lazily: only if some stream takes them whole)."""

    __slots__ = ("_chunk", "_views", "events")

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self._chunk: bytes | None = None
        self._views: dict[str, Batch] | None = None

    def seen_by(self, view: View) -> Batch:
        """The batch as `view` encodes it, made once for every stream of that view."""
        views = self._views
        if views is None:
            views = self._views = {}
        seen = views.get(view.name)
        if seen is None:
            seen = views[view.name] = Batch([view(e) for e in self.events])
        return seen

    @property
    def chunk(self) -> bytes:
        if self._chunk is None:
            self._chunk = http_chunk(b"".join(e.message for e in self.events))
        return self._chunk


# A connection's direct writer: takes an HTTP chunk now and returns True, or returns False when
# the connection cannot take more at once (the events then wait in the backlog).
Sink = Callable[[bytes], bool]


class Subscription:
    __slots__ = (
        "_busy",
        "_hub",
        "_limit",
        "_pending",
        "_tags",
        "_waiter",
        "closed",
        "on_close",
        "overflowed",
        "sink",
        "view",
        "written",
    )

    def __init__(
        self, hub: Hub, tags: frozenset[str] | None, limit: int, view: View | None = None
    ) -> None:
        self._hub = hub
        self._tags = tags
        self._limit = limit
        self.view = view  # the audience this stream encodes events for; None: the public API
        # the backlog, made when first needed: most streams never have one
        self._pending: OrderedDict[str, Event] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._busy = False  # the writer holds a batch: later events must queue behind it
        self.sink: Sink | None = None
        self.on_close: Callable[[], None] | None = None
        self.written = 0  # batches the sink took
        self.overflowed = False
        self.closed = False

    def offer(self, event: Event) -> None:
        self.offer_batch(Batch([event]))

    def offer_batch(self, batch: Batch) -> None:
        if self.closed or self.overflowed:
            return
        events = batch.events
        if self._tags is not None:
            seen = [s for e in events if (s := self._filter(e)) is not None]
            if not seen:
                return
            changed = len(seen) != len(events) or any(
                a is not b for a, b in zip(seen, events, strict=True)
            )
            if changed:
                events, batch = seen, Batch(seen)
        if self.view is not None:
            batch = batch.seen_by(self.view)
            events = batch.events
        sink = self.sink
        idle = not self._pending and not self._busy and len(events) <= self._limit
        if idle and sink is not None and sink(batch.chunk):
            self.written += 1
            return
        pending = self._pending
        if pending is None:
            pending = self._pending = OrderedDict()
        for event in events:
            _coalesce(pending, event)
        if len(pending) > self._limit:
            # too far behind to be worth catching up item by item: drop the backlog
            self._pending = None
            self.overflowed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None:
            _release(self._waiter)

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
        """The pending events (none if nothing was queued within `idle` seconds), oldest first.

        Until the writer asks again, later events queue behind the batch it holds; when it asks
        and nothing is pending, the sink takes events directly again.
        """
        if not self._pending and not self.overflowed and not self.closed:
            self._busy = False
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(idle, _release, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        batch = list(self._pending.values()) if self._pending else []
        self._pending = None
        self._busy = bool(batch)
        return batch

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sink = None
            self._wake()
            self._hub.discard(self)
            if self.on_close is not None:
                self.on_close()


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
        # this loop iteration's events, coalesced per item and sent as one batch when it ends
        self._tick: OrderedDict[str, Event] = OrderedDict()
        self._flush_scheduled = False
        self._synced = False
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
        view: View | None = None,
    ) -> Subscription:
        """A new stream; with `last_event_id` it first receives what it missed (or a RESYNC).
        With `view`, it receives events as that view encodes them.

        After `close()` the stream is born closed, so a request racing shutdown ends at once.
        """
        self._flush()  # what this iteration changed is in the ring: send it to the others first
        sub = Subscription(self, tags, self._client_queue, view)
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
        self._flush()
        self._closed = True
        for sub in list(self._subscribers):
            sub.close()

    def resync_event(self) -> Event:
        return Event.build("RESYNC", {"revision": self._store.revision}, id_=self._store.revision)

    def publish(self, event: Event) -> None:
        """An event that is not a store change (CONFIG_CHANGED)."""
        self._flush()
        self._send(Batch([event]))

    def _send(self, batch: Batch) -> None:
        for sub in list(self._subscribers):
            sub.offer_batch(batch)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._tick:
            batch = Batch(list(self._tick.values()))
            self._tick.clear()
            self._send(batch)

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): send at once
            self._flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self._flush)

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
            if not self._synced:
                # the first sync's objects live long: spare the collector's full passes them
                # (each would stall every open stream for tens of milliseconds)
                self._synced = True
                gc.freeze()
            self._tick.clear()  # superseded: everyone resyncs
            self._ring.clear()
            self._floor = notice.revision
            self._tags = self._current_tags()
            self._send(Batch([self.resync_event()]))
            return
        for change in notice:
            event = encode(change, self._retrack(change))
            self._ring.append(event)
            _coalesce(self._tick, event)
            self.broadcasts += 1
            log.info("Broadcasted event: %s", event.type)  # the guide's wording
        self._schedule_flush()

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
