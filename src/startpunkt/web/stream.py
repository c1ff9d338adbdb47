"""The event stream, `GET /api/updates/stream`: Server-Sent Events from the hub.

The contract (spec §4.5, §12 item 13):
- every store change is one event: `event:` is its type, `data:` the envelope
  `{"type", "timestamp", "data"}` with the full item (a removal carries the item's key), and
  `id:` the store revision, so `Last-Event-ID` resumes exactly where the client stopped;
- a new stream first gets a HEARTBEAT (no `id:`, so it never disturbs `Last-Event-ID`) whose
  data `{"timestamp": ms, "revision": N}` tells the page whether its snapshot is current; the
  page loads snapshots from the REST API and resumes with `?lastEventId=<snapshot revision>`
  (the `Last-Event-ID` header, sent by EventSource on reconnect, wins over the query);
- a resume that is too old for the replay ring gets one RESYNC, as does a client whose backlog
  overflowed (which is then disconnected): the page refetches the snapshot;
- quiet streams get a HEARTBEAT every `realtime.heartbeatInterval`; with `watch.enabled: false`
  they also call `ctx.refresh()` then, so changes still arrive (within one interval).

Nothing here waits on a client: the hub never blocks, and a client that stops reading is cut off
after `SEND_TIMEOUT` seconds of a blocked write, without delaying any other stream. Streams end
when their subscription is closed (`hub.close()` at shutdown) or the server exits.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import AsyncIterator

from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from startpunkt.access import Policy, audience
from startpunkt.events import Event, Subscription, TooManyClients
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error
from startpunkt.web.identity import viewer_of
from startpunkt.web.metrics import WebMetrics, metrics_for
from startpunkt.web.params import BadParameter, wanted_tags

log = logging.getLogger(__name__)

PATH = "/api/updates/stream"
# how long one write may stay blocked before the client is considered gone
SEND_TIMEOUT = 10.0
RETRY_MS = 2000  # the browser's reconnect delay
EVENT_ID = re.compile(r"[0-9]{1,18}")  # fullmatch; ASCII only: str.isdigit() accepts "²"


@functools.lru_cache(maxsize=4096)
def frame(event: Event) -> bytes:
    """The wire form of an event, encoded once however many streams send it."""
    event_id = None if event.id is None else str(event.id)
    return ServerSentEvent(event.data, event=event.type, id=event_id).encode()


def heartbeat(revision: int) -> Event:
    now = time.time()
    return Event.build(
        "HEARTBEAT", {"timestamp": int(now * 1000), "revision": revision}, timestamp=now
    )


def last_event_id(request: Request) -> int | None:
    """Where to resume: the `Last-Event-ID` header, else `?lastEventId=`.

    A header this server cannot have sent (not a number) means "unknown position": it gets a
    RESYNC rather than an error, since EventSource resends it on every reconnect.
    """
    header = request.headers.get("last-event-id", "").strip()
    if header:
        return int(header) if EVENT_ID.fullmatch(header) else -1
    query = request.query_params.get("lastEventId", "").strip()
    if not query:
        return None
    if not EVENT_ID.fullmatch(query):
        raise BadParameter(f"lastEventId: {query[:40]!r} is not an event id (a revision number)")
    return int(query)


class EventStream(EventSourceResponse):
    """An EventSourceResponse that owns its subscription and ends quietly when a client stalls."""

    def __init__(self, sub: Subscription, frames: AsyncIterator[bytes], metrics: WebMetrics):
        super().__init__(frames, ping=0, send_timeout=SEND_TIMEOUT)
        self.subscription = sub
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # uvicorn then closes the connection ("returned without completing response")
            self.metrics.stream_cutoffs.labels("stalled").inc()
            log.info("Ended an event stream whose client stopped reading for %ss", SEND_TIMEOUT)
        finally:
            # also when the response never started (client gone first), or it was a HEAD
            self.subscription.close()


async def refreshed(ctx: WebContext) -> None:
    """With watching off the store changes only when asked to (a LIST behind a short cache), so
    idle streams ask at each heartbeat; otherwise nothing would ever reach them."""
    if ctx.settings.watch.enabled:
        return
    try:
        await ctx.refresh()
    except Exception as e:  # the stream stays up; the next tick tries again
        log.warning("Refreshing the store for the event stream failed: %s", e)


async def frames(sub: Subscription, ctx: WebContext, metrics: WebMetrics) -> AsyncIterator[bytes]:
    idle = ctx.settings.realtime.heartbeat_interval
    try:
        first = heartbeat(ctx.hub.revision)
        yield ServerSentEvent(first.data, event=first.type, retry=RETRY_MS).encode()
        while True:
            batch = await sub.next(idle)
            if sub.overflowed:
                metrics.stream_cutoffs.labels("overflow").inc()
                yield frame(ctx.hub.resync_event())
                return
            if batch:
                yield b"".join(frame(event) for event in batch)
            elif sub.closed:
                return
            else:
                await refreshed(ctx)  # changes it finds are offered to `sub` right away
                yield frame(heartbeat(ctx.hub.revision))
    finally:
        sub.close()


def routes(ctx: WebContext) -> list[BaseRoute]:
    metrics = metrics_for(ctx)
    realtime = ctx.settings.realtime
    policy = Policy.of(ctx.settings.access)

    async def stream(request: Request) -> Response:
        if not realtime.enabled:
            return error(
                404,
                "the event stream is disabled (startpunkt.realtime.enabled: false); "
                "poll /api/apps instead",
            )
        try:
            tags = wanted_tags(request.query_params.get("tags"), ctx.settings.web.show_all_on_root)
            resume = last_event_id(request)
        except BadParameter as e:
            return error(400, str(e))
        try:
            seen_by = audience(viewer_of(request), policy)
            sub = ctx.hub.connect(resume, tags, seen_by, policy)
        except TooManyClients:
            return error(
                503,
                f"too many open event streams (startpunkt.realtime.maxConnections: "
                f"{realtime.max_connections}); try again later",
                headers={"Retry-After": "5"},
            )
        return EventStream(sub, frames(sub, ctx, metrics), metrics)

    return [Route(PATH, stream, methods=["GET"])]
