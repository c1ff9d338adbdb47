"""The event stream, `GET /api/updates/stream`: Server-Sent Events from the hub.

The contract (spec §4.5, §12 item 13):
- every store change is one message: a plain `data:` line with the envelope
  `{"type", "timestamp", "data"}` (the full item; a removal carries the item's key), which
  EventSource hands to `onmessage`, and `id:` the store revision, so `Last-Event-ID` resumes
  exactly where the client stopped;
- a new stream first gets a HEARTBEAT (no `id:`, so it never disturbs `Last-Event-ID`) whose
  data `{"timestamp": ms, "revision": N}` tells the page whether its snapshot is current; the
  page loads snapshots from the REST API and resumes with `?lastEventId=<snapshot revision>`
  (the `Last-Event-ID` header, sent by EventSource on reconnect, wins over the query);
- a resume that is too old for the replay ring gets one RESYNC, as does a client whose backlog
  overflowed (which is then disconnected): the page refetches the snapshot;
- quiet streams get a HEARTBEAT every `realtime.heartbeatInterval`; with `watch.enabled: false`
  they also call `ctx.refresh()` then, so changes still arrive (within one interval).

How bytes reach a client: on the project's server (`serving.Protocol`) the hub writes each
event's pre-encoded chunk straight to the connection's transport while the connection keeps up
(`Subscription.sink`). A connection whose buffer is full gets a coalesced backlog instead, which
this stream's own coroutine (its only writer) drains when the client reads again; a client that
stops reading for `SEND_TIMEOUT` seconds is cut off and its connection aborted, so its unsent
bytes are dropped at once instead of pinning the socket. Served by another ASGI server, the same
coroutine writes everything through ASGI `send`. Streams end when their subscription is closed
(`hub.close()` at shutdown, by the server's exit handler) or the client leaves.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from startpunkt.events import Event, Subscription, TooManyClients, http_chunk, sse_message
from startpunkt.web import serving
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error
from startpunkt.web.metrics import WebMetrics, metrics_for
from startpunkt.web.params import BadParameter, wanted_tags

log = logging.getLogger(__name__)

PATH = "/api/updates/stream"
# how long one write may stay blocked before the client is considered gone
SEND_TIMEOUT = 10.0
# how long an ending stream waits for its last bytes to leave at shutdown
SHUTDOWN_FLUSH = 1.0
RETRY_MS = 2000  # the browser's reconnect delay
EVENT_ID = re.compile(r"[0-9]{1,18}")  # fullmatch; ASCII only: str.isdigit() accepts "²"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies (nginx) must not hold events back
]


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


class Stalled(Exception):
    """The client did not take a write within `SEND_TIMEOUT`."""


class Gone(Exception):
    """The connection is closed."""


class _Writer:
    """Writes through ASGI `send`: the path for servers other than the project's own."""

    def __init__(self, send: Send) -> None:
        self._send = send

    def connect(self, sub: Subscription) -> None:
        """Direct writes need a transport; here every event goes through the backlog."""

    async def write(self, message: bytes) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await self._send({"type": "http.response.body", "body": message, "more_body": True})
        except TimeoutError:
            raise Stalled from None

    async def finish(self, sub: Subscription) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def abort(self) -> None:
        """Nothing to abort through ASGI: the server closes the connection."""


class _DirectWriter(_Writer):
    """Writes chunks straight to the connection's transport (the response head went out through
    ASGI, so the body is chunked, and uvicorn still writes the final empty chunk)."""

    def __init__(self, send: Send, protocol: serving.Protocol) -> None:
        super().__init__(send)
        self._transport = protocol.transport
        self._flow = protocol.flow
        self._blocked = False

    def connect(self, sub: Subscription) -> None:
        transport, flow = self._transport, self._flow

        def sink(chunk: bytes) -> bool:
            if flow.write_paused or transport.is_closing():
                return False
            transport.write(chunk)
            return True

        def closed() -> None:
            # at shutdown, a writer stuck on a client that does not read must not hold it up
            if self._blocked:
                serving.drop(transport)

        sub.sink, sub.on_close = sink, closed

    async def write(self, message: bytes) -> None:
        await self._writable(SEND_TIMEOUT)
        self._transport.write(http_chunk(message))

    async def _writable(self, timeout: float) -> None:
        if self._flow.write_paused:
            self._blocked = True
            try:
                async with asyncio.timeout(timeout):
                    await self._flow.drain()
            except TimeoutError:
                raise Stalled from None
            finally:
                self._blocked = False
        if self._transport.is_closing():
            raise Gone

    async def finish(self, sub: Subscription) -> None:
        await self._writable(SEND_TIMEOUT)
        await super().finish(sub)
        if self._transport.get_write_buffer_size():
            # the response is complete but not sent: wait until it has left, else drop it, so a
            # client that stopped reading cannot keep the socket (closing would wait for it)
            self._transport.set_write_buffer_limits(high=0)
            try:
                await self._writable(SHUTDOWN_FLUSH if sub.closed else SEND_TIMEOUT)
            except (Stalled, Gone):
                self.abort()

    def abort(self) -> None:
        serving.drop(self._transport)


def _protocol_of(scope: Scope) -> serving.Protocol | None:
    extension = scope.get("extensions", {}).get(serving.TRANSPORT, {})
    protocol = extension.get("protocol")
    if isinstance(protocol, serving.Protocol) and scope.get("http_version") == "1.1":
        return protocol
    return None


class EventStream:
    """The streaming response (pure ASGI): owns its subscription and is its only writer."""

    def __init__(self, sub: Subscription, ctx: WebContext, metrics: WebMetrics) -> None:
        self.subscription = sub
        self.ctx = ctx
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.subscription
        protocol = _protocol_of(scope)
        writer = _DirectWriter(send, protocol) if protocol else _Writer(send)
        watcher = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            first = heartbeat(self.ctx.hub.revision)
            await writer.write(sse_message(first.data, retry_ms=RETRY_MS))
            if protocol is not None:
                protocol.on_lost = sub.close  # a client that leaves ends its stream at once
            else:
                watcher = asyncio.create_task(_until_disconnect(receive, sub), name="sse-leave")
            writer.connect(sub)
            await self._pump(writer)
            await writer.finish(sub)
        except Stalled:
            self.metrics.stream_cutoffs.labels("stalled").inc()
            log.info("Ended an event stream whose client stopped reading for %ss", SEND_TIMEOUT)
            if protocol is not None:
                writer.abort()
                await _until_disconnect(receive, sub)
        except (Gone, OSError):
            pass  # the client left
        finally:
            sub.close()
            if protocol is not None:
                protocol.on_lost = None
            if watcher is not None:
                watcher.cancel()

    async def _pump(self, writer: _Writer) -> None:
        sub, hub = self.subscription, self.ctx.hub
        idle = self.ctx.settings.realtime.heartbeat_interval
        written = sub.written
        while True:
            batch = await sub.next(idle)
            if sub.overflowed:
                self.metrics.stream_cutoffs.labels("overflow").inc()
                await writer.write(hub.resync_event().message)
                return
            if batch:
                await writer.write(b"".join(event.message for event in batch))
            elif sub.closed:
                return
            elif sub.written != written:
                written = sub.written  # not quiet: events went out directly
            else:
                await refreshed(self.ctx)  # changes it finds are offered to `sub` right away
                await writer.write(heartbeat(hub.revision).message)


async def _until_disconnect(receive: Receive, sub: Subscription) -> None:
    message: Message = {}
    while message.get("type") != "http.disconnect":
        message = await receive()
    sub.close()


async def refreshed(ctx: WebContext) -> None:
    """With watching off the store changes only when asked to (a LIST behind a short cache), so
    idle streams ask at each heartbeat; otherwise nothing would ever reach them."""
    if ctx.settings.watch.enabled:
        return
    try:
        await ctx.refresh()
    except Exception as e:  # the stream stays up; the next tick tries again
        log.warning("Refreshing the store for the event stream failed: %s", e)


class _Endpoint:
    """The route's ASGI app; plain ASGI, so an open stream holds no per-request wrappers."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.metrics = metrics_for(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(Request(scope, receive))(scope, receive, send)

    def respond(self, request: Request) -> Response | EventStream:
        ctx = self.ctx
        realtime = ctx.settings.realtime
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
        if request.method == "HEAD":
            return Response(headers={k.decode(): v.decode() for k, v in HEADERS})
        try:
            sub = ctx.hub.connect(resume, tags)
        except TooManyClients:
            return error(
                503,
                f"too many open event streams (startpunkt.realtime.maxConnections: "
                f"{realtime.max_connections}); try again later",
                headers={"Retry-After": "5"},
            )
        return EventStream(sub, ctx, self.metrics)


def routes(ctx: WebContext) -> list[BaseRoute]:
    return [Route(PATH, _Endpoint(ctx), methods=["GET", "HEAD"])]
