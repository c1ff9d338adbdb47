"""The Starlette application: routes from each web module, and request metrics around them."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from startpunkt.web.context import WebContext
from startpunkt.web.firstpaint import FirstPaint
from startpunkt.web.snapshots import SnapshotRoutes
from startpunkt.web.stream import Opener


class App(Starlette):
    """Starlette, with three kinds of request answered before the middleware stack: event streams
    (an open stream then holds two coroutine frames instead of a dozen, and thousands stay open
    for hours), the snapshot documents (most of the API's traffic, ready bytes), and the start
    page once rendered for the current snapshot."""

    def __init__(self, ctx: WebContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.streams = Opener(ctx)
        self.snapshots = SnapshotRoutes(ctx)
        self.first_paint = FirstPaint(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        if self.snapshots.wants(scope) and (ready := self.snapshots.respond(scope)):
            await self.snapshots.send(scope, send, ready, started)
        elif self.streams.wants(scope) and (opened := self.streams.open(scope, receive)):
            await opened(scope, receive, send)
        elif self.first_paint.wants(scope):
            await self.first_paint.serve(scope, receive, send, super().__call__)
        else:
            await super().__call__(scope, receive, send)


def create_app(ctx: WebContext) -> Starlette:
    from startpunkt.web import api, pages, probes, stream, websocket  # noqa: PLC0415
    from startpunkt.web.headers import NoSniff  # noqa: PLC0415
    from startpunkt.web.metrics import RequestMetrics, metrics_for  # noqa: PLC0415

    routes: list[BaseRoute] = [
        *probes.routes(ctx),
        *stream.routes(ctx),
        *websocket.routes(ctx),
        *api.routes(ctx),
        *pages.routes(ctx),
    ]
    middleware = [Middleware(NoSniff), Middleware(RequestMetrics, metrics=metrics_for(ctx))]
    app = App(ctx, routes=routes, middleware=middleware)
    app.state.ctx = ctx
    return app
