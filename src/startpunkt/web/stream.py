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
  they also call `ctx.refresh()` then, so changes still arrive (within one interval);
- `?view=page&lang=en-US` is the start page's own stream: the same messages, but an added or
  updated item carries its card as the server renders it (`web.fragments`), not its JSON.

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

from startpunkt.access import Policy, audience
from startpunkt.events import Event, Subscription, TooManyClients, http_chunk, sse_message
from startpunkt.web import serving
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error
from startpunkt.web.fragments import PageViews
from startpunkt.web.identity import viewer_of
from startpunkt.web.metrics import WebMetrics, metrics_for
from startpunkt.web.params import BadParameter, wanted_tags

log = logging.getLogger(__name__)

PATH = "/api/updates/stream"
# how long one write may stay blocked before the client is considered gone
SEND_TIMEOUT = 10.0
# how long an ending stream waits for its last bytes to leave at shutdown
SHUTDOWN_FLUSH = 1.0
RETRY_MS = 2000  # the browser's reconnect delay
# The kernel's send buffer of a stream connection: without a bound it grows to megabytes for a
# client that stops reading (the kernel tunes it up), memory no backlog limit here could see.
# 128 KiB (the kernel doubles it) still lets a client 200 ms away receive over 1 MB/s.
SEND_BUFFER = 128 * 1024
EVENT_ID = re.compile(r"[0-9]{1,18}")  # fullmatch; ASCII only: str.isdigit() accepts "²"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies (nginx) must not hold events back
    # streams open ahead of the middleware stack, so they carry the stack's header themselves
    (b"x-content-type-options", b"nosniff"),
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


class EventStream:
    """The streaming response (pure ASGI): owns its subscription and is its only writer.

    On the project's server it writes the response head and the first heartbeat in one write
    and then hands the hub a sink onto the transport; elsewhere it writes through ASGI `send`.
    """

    __slots__ = ("_blocked", "_flow", "_protocol", "_send", "_transport", "ctx", "metrics", "sub")

    def __init__(self, sub: Subscription, ctx: WebContext, metrics: WebMetrics) -> None:
        self.sub = sub
        self.ctx = ctx
        self.metrics = metrics
        self._protocol: serving.Protocol | None = None
        self._blocked = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.sub
        self._send = send
        protocol = self._protocol = _protocol_of(scope)
        watcher = None
        try:
            first = sse_message(heartbeat(self.ctx.hub.revision).data, retry_ms=RETRY_MS)
            if protocol is not None and protocol.begin_stream(HEADERS, http_chunk(first)):
                self._transport, self._flow = protocol.transport, protocol.flow
                serving.bound_send_buffer(self._transport, SEND_BUFFER)
                protocol.guard.on_lost = sub.close  # a client that leaves ends its stream at once
                sub.sink, sub.on_close = self._sink, self._closed
            else:
                protocol = self._protocol = None
                await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
                await self._write(first)
                watcher = asyncio.create_task(_until_disconnect(receive, sub), name="sse-leave")
            await self._pump()
            await self._finish()
        except Stalled:
            self.metrics.stream_cutoffs.labels("stalled").inc()
            log.info("Ended an event stream whose client stopped reading for %ss", SEND_TIMEOUT)
            if protocol is not None:
                serving.drop(self._transport)
                await _until_disconnect(receive, sub)
        except (Gone, OSError):
            pass  # the client left
        finally:
            sub.close()
            if protocol is not None:
                protocol.guard.on_lost = None
            if watcher is not None:
                watcher.cancel()

    def _sink(self, chunk: bytes) -> bool:
        """The hub's direct write: only while the transport takes bytes without buffering."""
        if self._flow.write_paused or self._transport.is_closing():
            return False
        self._transport.write(chunk)
        return True

    def _closed(self) -> None:
        # at shutdown, a writer stuck on a client that does not read must not hold it up
        if self._blocked:
            serving.drop(self._transport)

    async def _pump(self) -> None:
        sub, hub = self.sub, self.ctx.hub
        idle = self.ctx.settings.realtime.heartbeat_interval
        written = sub.written
        while True:
            batch = await sub.next(idle)
            if sub.overflowed:
                self.metrics.stream_cutoffs.labels("overflow").inc()
                await self._write(hub.resync_event().message)
                return
            if batch:
                await self._write(b"".join(event.message for event in batch))
            elif sub.closed:
                return
            elif sub.written != written:
                written = sub.written  # not quiet: events went out directly
            else:
                await refreshed(self.ctx)  # changes it finds are offered to `sub` right away
                await self._write(heartbeat(hub.revision).message)

    async def _write(self, message: bytes) -> None:
        if self._protocol is None:
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    body = {"type": "http.response.body", "body": message, "more_body": True}
                    await self._send(body)
            except TimeoutError:
                raise Stalled from None
            return
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

    async def _finish(self) -> None:
        """The final chunk (written by the server on `more_body: False`)."""
        if self._protocol is None:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self._writable(SEND_TIMEOUT)
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        if self._transport.get_write_buffer_size():
            # the response is complete but not sent: wait until it has left, else drop it, so a
            # client that stopped reading cannot keep the socket (closing would wait for it)
            self._transport.set_write_buffer_limits(high=0)
            try:
                await self._writable(SHUTDOWN_FLUSH if self.sub.closed else SEND_TIMEOUT)
            except (Stalled, Gone):
                serving.drop(self._transport)


def _protocol_of(scope: Scope) -> serving.Protocol | None:
    extension = scope.get("extensions", {}).get(serving.TRANSPORT, {})
    protocol = extension.get("protocol")
    if isinstance(protocol, serving.Protocol) and scope.get("http_version") == "1.1":
        return protocol
    return None


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
        self.policy = Policy.of(ctx.settings.access)
        self.page_views = PageViews(ctx)

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
            view = self.page_views.requested(request.query_params)
        except BadParameter as e:
            return error(400, str(e))
        if request.method == "HEAD":
            return Response(headers={k.decode(): v.decode() for k, v in HEADERS})
        try:
            policy = self.policy
            seen_by = audience(viewer_of(request), policy)
            sub = ctx.hub.connect(resume, tags, seen_by, policy, view)
        except TooManyClients:
            return error(
                503,
                f"too many open event streams (startpunkt.realtime.maxConnections: "
                f"{realtime.max_connections}); try again later",
                headers={"Retry-After": "5"},
            )
        return EventStream(sub, ctx, self.metrics)


class Opener:
    """Opens event streams ahead of the middleware stack (see `web.app.App`), counting them as
    the request metrics would. A refused stream (an error response) is left to the stack."""

    def __init__(self, ctx: WebContext) -> None:
        self.endpoint = _Endpoint(ctx)

    @staticmethod
    def wants(scope: Scope) -> bool:
        return bool(scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET")

    def open(self, scope: Scope, receive: Receive) -> EventStream | None:
        """The stream to run (its request counted), or None to let the stack answer."""
        started = time.perf_counter()
        response = self.endpoint.respond(Request(scope, receive))
        if not isinstance(response, EventStream):
            return None
        metrics = self.endpoint.metrics
        metrics.requests.labels(PATH, "200").inc()
        metrics.response_start.labels(PATH).observe(time.perf_counter() - started)
        return response


def routes(ctx: WebContext) -> list[BaseRoute]:
    return [Route(PATH, _Endpoint(ctx), methods=["GET", "HEAD"])]
