"""The WebSocket channel, `/api/ws/updates`: the event stream's envelopes as text frames.

This is the channel the original's released v3.x pages use (when `/api/config` says
`websocket.enabled: true`): one HEARTBEAT as soon as the socket opens, then one text frame per
change, each the same envelope `{"type", "timestamp", "data"}` as the event stream's `data:`.
It shares the hub with the event stream, so it has the same bounded, coalesced backlog: a client
that falls too far behind gets RESYNC and the socket is closed (1013, try again later), and one
that stops reading for `stream.SEND_TIMEOUT` seconds is cut off and its connection reset.
`?tags=` and `?lastEventId=` work as on the event stream. Frames a client sends are read (so a
close is noticed at once) and otherwise ignored: the channel has no commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.datastructures import QueryParams
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import Message, Receive, Scope, Send

from startpunkt.access import Policy, audience
from startpunkt.events import Subscription, TooManyClients
from startpunkt.web import serving, stream
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error_body
from startpunkt.web.identity import viewer_of
from startpunkt.web.metrics import WebMetrics, metrics_for
from startpunkt.web.params import BadParameter, wanted_tags

log = logging.getLogger(__name__)

PATH = "/api/ws/updates"
GOING_AWAY = 1001  # the server shuts down
TRY_AGAIN_LATER = 1013


class _Cut(Exception):
    """The client did not take a frame in time."""


def _resume(query: QueryParams) -> int | None:
    raw = query.get("lastEventId", "").strip()
    if not raw:
        return None
    if not stream.EVENT_ID.fullmatch(raw):
        raise BadParameter(f"lastEventId: {raw[:40]!r} is not an event id (a revision number)")
    return int(raw)


async def _deny(send: Send, status: int, message: str) -> None:
    """An HTTP answer instead of the upgrade (the ASGI WebSocket denial response)."""
    body = json.dumps(error_body(status, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


class _Endpoint:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.metrics = metrics_for(ctx)
        self.policy = Policy.of(ctx.settings.access)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        ctx = self.ctx
        realtime = ctx.settings.realtime
        if not realtime.enabled:
            await _deny(send, 404, "live updates are disabled (startpunkt.realtime.enabled: false)")
            return
        query = QueryParams(scope["query_string"])
        try:
            tags = wanted_tags(query.get("tags"), ctx.settings.web.show_all_on_root)
            viewer = viewer_of(HTTPConnection(scope))
            sub = ctx.hub.connect(_resume(query), tags, audience(viewer, self.policy), self.policy)
        except BadParameter as e:
            await _deny(send, 400, str(e))
            return
        except TooManyClients:
            await _deny(
                send,
                503,
                f"too many open live channels (startpunkt.realtime.maxConnections: "
                f"{realtime.max_connections}); try again later",
            )
            return
        reader = asyncio.create_task(_read_until_closed(receive, sub), name="ws-reader")
        try:
            await send({"type": "websocket.accept"})
            await _Pump(sub, ctx, metrics=self.metrics, send=send).run()
        except _Cut:
            self.metrics.stream_cutoffs.labels("stalled").inc()
            log.info("Ended a WebSocket whose client stopped reading for %ss", stream.SEND_TIMEOUT)
            _drop(scope)
        except OSError:
            pass  # the client left (uvicorn's ClientDisconnected)
        finally:
            sub.close()
            reader.cancel()


class _Pump:
    def __init__(self, sub: Subscription, ctx: WebContext, *, metrics: WebMetrics, send: Send):
        self.sub, self.ctx, self.metrics, self._send = sub, ctx, metrics, send

    async def run(self) -> None:
        sub, hub = self.sub, self.ctx.hub
        idle = self.ctx.settings.realtime.heartbeat_interval
        await self.text(stream.heartbeat(hub.revision).data)
        while True:
            batch = await sub.next(idle)
            if sub.overflowed:
                self.metrics.stream_cutoffs.labels("overflow").inc()
                await self.text(hub.resync_event().data)
                await self.close(TRY_AGAIN_LATER)
                return
            for event in batch:
                await self.text(event.data)
            if not batch and sub.closed:
                await self.close(GOING_AWAY)
                return
            if not batch:
                await stream.refreshed(self.ctx)
                await self.text(stream.heartbeat(hub.revision).data)

    async def text(self, data: str) -> None:
        try:
            async with asyncio.timeout(stream.SEND_TIMEOUT):
                await self._send({"type": "websocket.send", "text": data})
        except TimeoutError:
            raise _Cut from None

    async def close(self, code: int) -> None:
        # the server may have sent its own close first (shutdown): nothing more to say then
        with contextlib.suppress(RuntimeError, OSError):
            await self._send({"type": "websocket.close", "code": code})


async def _read_until_closed(receive: Receive, sub: Subscription) -> None:
    message: Message = {}
    while message.get("type") != "websocket.disconnect":
        message = await receive()
    sub.close()


def _drop(scope: Scope) -> None:
    protocol = scope.get("extensions", {}).get(serving.TRANSPORT, {}).get("protocol")
    transport = getattr(protocol, "transport", None)
    if transport is not None:
        serving.drop(transport)


def routes(ctx: WebContext) -> list[BaseRoute]:
    return [WebSocketRoute(PATH, _Endpoint(ctx))]
