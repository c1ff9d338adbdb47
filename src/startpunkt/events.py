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
The same holds for who may see an item (`access`): a stream carries only the events of items its
viewer may see, and an item whose groups changed arrives as added or removed for a viewer it
became visible or hidden to. The removal and addition are encoded once with the change, and a
batch filtered for one audience (and tag filter) is built once and shared by every stream of
that audience (`Batch.view_for`), so the cost grows with audiences, not with clients.

A stream may see events through a `View`: another audience's encoding of the same change (the
start page's server-rendered cards in one language). A view's version of an event is made once,
the first time a stream of that audience takes it, and kept with the event, so a thousand pages
in one language cost one rendering per change, and a batch's wire bytes are joined once per view.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from startpunkt.access import OPEN, Audience, Policy, allowed
from startpunkt.model import Application, Bookmark, Item
from startpunkt.shapes.api import (
    EventData,
    EventType,
    application,
    bookmark,
    envelope,
    item_key,
)
from startpunkt.store import Change, Notice, Resync, Store

log = logging.getLogger(__name__)

_TYPES: dict[tuple[type, str], EventType] = {
    (Application, "added"): "APPLICATION_ADDED",
    (Application, "updated"): "APPLICATION_UPDATED",
    (Application, "removed"): "APPLICATION_REMOVED",
    (Application, "status"): "STATUS_CHANGED",
    (Bookmark, "added"): "BOOKMARK_ADDED",
    (Bookmark, "updated"): "BOOKMARK_UPDATED",
    (Bookmark, "removed"): "BOOKMARK_REMOVED",
}


FILTER_IDS = 65536  # distinct stream filters remembered


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
    groups: tuple[str, ...] | None = None  # an item's groups (access); None: for everyone
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
        return Event(id_, type_, data, key, tags, None, chunk, None, change)

    @staticmethod
    def build(
        type_: EventType,
        data: EventData,
        *,
        id_: int | None = None,
        key: str = "",
        tags: tuple[str, ...] | None = None,
        timestamp: float | None = None,
        change: Change | None = None,
    ) -> Event:
        body = envelope(type_, data, timestamp or time.time())
        encoded = json.dumps(body, separators=(",", ":"))
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
    data: EventData
    if change.action == "removed":
        data = item_key(item)
    elif isinstance(item, Application):
        data = application(item, change.availability)
    else:
        data = bookmark(item)
    tags = item.tags if isinstance(item, Application) else None
    event = replace(
        Event.build(
            type_,
            data,
            id_=change.revision,
            key=item.key,
            tags=tags,
            timestamp=change.timestamp,
            change=change,
        ),
        groups=item.groups,
    )
    retagged = tags is not None and previous_tags is not None and previous_tags != tags
    regrouped = previous_groups is not None and previous_groups != item.groups
    if change.action == "removed" or not (retagged or regrouped):
        return event
    before_tags = previous_tags if tags is not None else None
    before_groups = item.groups if previous_groups is None else previous_groups
    gone = Event.build(
        _TYPES[(kind, "removed")],
        item_key(item),
        id_=change.revision,
        key=item.key,
        tags=before_tags,
        timestamp=change.timestamp,
        change=change,
    )
    appeared = Event.build(
        _TYPES[(kind, "added")],
        data,
        id_=change.revision,
        key=item.key,
        tags=tags,
        timestamp=change.timestamp,
        change=change,
    )
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
    merged = _retyped(newer, older.type) if keep_older_type else newer
    if older.retag is None:  # the older event moved the item in or out of no filter
        return merged
    return replace(merged, retag=_since(older.retag, merged))


def _retyped(event: Event, type_: str) -> Event:
    envelope = json.loads(event.data)
    envelope["type"] = type_
    data = json.dumps(envelope, separators=(",", ":"))
    retyped = Event.wire(
        type_, data, id_=event.id, key=event.key, tags=event.tags, change=event.change
    )
    return replace(retyped, retag=event.retag, groups=event.groups)


def _since(before: Retag, merged: Event) -> Retag:
    """A merged event's retag: filters compare the item as it was before the older event (which
    moved it) with the item as the merged event leaves it."""
    if merged.type.endswith("_REMOVED"):  # gone for whoever saw it before or after
        return Retag(before.previous, merged, merged, before.previous_groups)
    if merged.retag is not None:
        return Retag(
            before.previous, merged.retag.gone, merged.retag.appeared, before.previous_groups
        )
    kind = merged.type.split("_", 1)[0]
    appeared = _retyped(merged, f"{kind}_ADDED")
    return Retag(before.previous, before.gone, appeared, before.previous_groups)


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
    (lazily: only if some stream takes them whole), and the batch as each filter sees it, also
    built once however many streams share that filter."""

    __slots__ = ("_chunk", "_groups", "_rendered", "_seen", "_views", "events")
    built = 0  # wire chunks built, process-wide (benchmarks and tests count encodings with it)

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self._chunk: bytes | None = None
        self._views: dict[object, Batch | None] | None = None  # by what the filter sees
        self._seen: dict[int, Batch | None] | None = None  # by the streams' filter ids
        self._rendered: dict[str, Batch] | None = None  # by View name
        self._groups: frozenset[str] | None = None

    def seen_by(self, view: View) -> Batch:
        """The batch as `view` encodes it, made once for every stream of that view."""
        rendered = self._rendered
        if rendered is None:
            rendered = self._rendered = {}
        seen = rendered.get(view.name)
        if seen is None:
            seen = rendered[view.name] = Batch([view(e) for e in self.events])
        return seen

    @property
    def chunk(self) -> bytes:
        if self._chunk is None:
            Batch.built += 1
            self._chunk = http_chunk(b"".join(e.message for e in self.events))
        return self._chunk

    @property
    def groups(self) -> frozenset[str]:
        """Every group the batch's items name, now or before: the only ones a filter needs."""
        if self._groups is None:
            found: set[str] = set()
            for event in self.events:
                found.update(event.groups or ())
                if event.retag is not None:
                    found.update(event.retag.previous_groups or ())
            self._groups = frozenset(found)
        return self._groups

    def view_for(self, sub: Subscription) -> Batch | None:
        """The batch as `sub`'s filter sees it (None: nothing for it), made once per filter:
        streams with the same tags and audience share it without asking again, and streams
        whose viewers differ only in groups the batch's items do not name share it too."""
        seen = self._seen
        if seen is None:
            seen = self._seen = {}
        elif (found := seen.get(sub.filter_id, self)) is not self:
            return found
        views = self._views
        if views is None:
            views = self._views = {}
        key = sub.view_key(self)
        if key in views:
            found = views[key]
        else:
            kept = sub.filter_all(self)
            changed = len(kept) != len(self.events) or any(
                a is not b for a, b in zip(kept, self.events, strict=True)
            )
            found = views[key] = (Batch(kept) if changed else self) if kept else None
        seen[sub.filter_id] = found
        return found


# A connection's direct writer: takes an HTTP chunk now and returns True, or returns False when
# the connection cannot take more at once (the events then wait in the backlog).
Sink = Callable[[bytes], bool]


class Subscription:
    __slots__ = (
        "_audience",
        "_busy",
        "_hub",
        "_limit",
        "_pending",
        "_policy",
        "_tags",
        "_waiter",
        "closed",
        "filter_id",
        "on_close",
        "overflowed",
        "sink",
        "view",
        "written",
    )

    def __init__(
        self,
        hub: Hub,
        tags: frozenset[str] | None,
        limit: int,
        audience: Audience | None = None,
        policy: Policy = OPEN,
        view: View | None = None,
    ) -> None:
        self._hub = hub
        self._tags = tags
        self.view = view  # the audience this stream encodes events for; None: the public API
        # None: sees everything (access not configured, or an admin); no audience is anonymous
        seer = audience or Audience()
        self._audience = seer if policy.enabled and not seer.is_admin else None
        self._policy = policy
        # streams with equal filters share one id, so a batch is filtered once for all of them
        self.filter_id = hub.filter_id(tags, self._audience)
        self._limit = limit
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
        if self._tags is not None or self._audience is not None:
            filtered = batch.view_for(self)
            if filtered is None:
                return
            batch = filtered
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

    def view_key(self, batch: Batch) -> object:
        """Names what this stream's filter makes of `batch`: streams with equal keys see the same
        events, so their filtered batch is built once. Only the viewer's groups that the batch's
        items name count, so people with unrelated extra groups share it."""
        audience = self._audience
        if audience is None:
            return (self._tags, None)
        groups = audience.groups & batch.groups if audience.groups else audience.groups
        return (self._tags, audience.authenticated, groups)

    def filter_all(self, batch: Batch) -> list[Event]:
        return [s for e in batch.events if (s := self._filter(e)) is not None]

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
        self, store: Store, *, replay: int = 2048, client_queue: int = 512, max_clients: int = 10000
    ) -> None:
        self._store = store
        self._ring: deque[Event] = deque(maxlen=replay)
        self._floor = store.revision  # events at or below this id cannot be replayed
        self._client_queue = client_queue
        self._max_clients = max_clients
        self._subscribers: set[Subscription] = set()
        self._tags = self._current_tags()  # app key -> tags, to notice retagging
        self._groups = self._current_groups()  # item key -> groups, to notice regrouping
        self._filters: dict[tuple[frozenset[str] | None, Audience | None], int] = {}
        self._filter_ids = itertools.count()
        self._closed = False
        # this loop iteration's events, coalesced per item and sent as one batch when it ends
        self._tick: OrderedDict[str, Event] = OrderedDict()
        self._flush_scheduled = False
        self._synced = False
        self.broadcasts = 0
        store.subscribe(self._on_notice)

    def filter_id(self, tags: frozenset[str] | None, audience: Audience | None) -> int:
        """A small number naming a stream filter (tag set and audience); equal filters get the
        same one. Forgotten wholesale now and then: a new number only costs one filtering."""
        key = (tags, audience)
        found = self._filters.get(key)
        if found is None:
            if len(self._filters) >= FILTER_IDS:
                self._filters.clear()
            found = self._filters[key] = next(self._filter_ids)
        return found

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
        view: View | None = None,
    ) -> Subscription:
        """A new stream; with `last_event_id` it first receives what it missed (or a RESYNC).
        With `policy` enabled, it carries only what `audience` may see. With `view`, it receives
        events as that view encodes them.

        After `close()` the stream is born closed, so a request racing shutdown ends at once.
        """
        self._flush()  # what this iteration changed is in the ring: send it to the others first
        sub = Subscription(self, tags, self._client_queue, audience, policy, view)
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
            if not self._synced:
                # the first sync's objects live long: spare the collector's full passes them
                # (each would stall every open stream for tens of milliseconds)
                self._synced = True
                gc.freeze()
            self._tick.clear()  # superseded: everyone resyncs
            self._ring.clear()
            self._floor = notice.revision
            self._tags = self._current_tags()
            self._groups = self._current_groups()
            self._send(Batch([self.resync_event()]))
            return
        for change in notice:
            event = encode(change, self._retrack(change), self._regroup(change))
            self._ring.append(event)
            _coalesce(self._tick, event)
            self.broadcasts += 1
            log.info("Broadcasted event: %s", event.type)  # the guide's wording
        self._schedule_flush()

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
