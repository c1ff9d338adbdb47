"""The Starlette application: routes from each web module, and request metrics around them."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from startpunkt.web.context import WebContext
from startpunkt.web.firstpaint import FirstPaint
from startpunkt.web.identity import SCOPE_KEY, Identity
from startpunkt.web.snapshots import SnapshotRoutes
from startpunkt.web.stream import Opener


async def _unreachable(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("App's Identity only reads who is asking")


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
        # with access configured, who asks is known before anything answers (streams too);
        # the snapshot documents and the first paint are then per audience, which the stack's
        # routes filter and cache (web/audiences.py), so they are not answered here
        access = ctx.settings.access
        self.identity = Identity(_unreachable, access) if access.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        if self.identity is not None and scope["type"] in ("http", "websocket"):
            scope[SCOPE_KEY] = self.identity.viewer(scope)
        shared = self.identity is None
        if shared and self.snapshots.wants(scope) and (ready := self.snapshots.respond(scope)):
            await self.snapshots.send(scope, send, response=ready, started=started)
        elif self.streams.wants(scope) and (opened := self.streams.open(scope, receive)):
            await opened(scope, receive, send)
        elif shared and self.first_paint.wants(scope):
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
    if ctx.settings.access.enabled:
        middleware.append(Middleware(Identity, access=ctx.settings.access))
    app = App(ctx, routes=routes, middleware=middleware)
    app.state.ctx = ctx
    return app


# what `access.operatorEndpoints: port` moves to the operator port (plus what the diagnostics
# page needs to look right, and the probes)
OPERATOR_PATHS = frozenset(
    {"/metrics", "/api/diagnostics", "/api/sources", "/diagnostics", "/theme.css", "/statics"}
    | {"/livez", "/readyz"}
)


class _OperatorPort:
    """Marks requests as coming in on the operator port: no identity, everything visible."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from startpunkt.web.identity import OPERATOR_KEY  # noqa: PLC0415

        scope[OPERATOR_KEY] = True
        await self.app(scope, receive, send)


def create_operator_app(ctx: WebContext) -> Starlette:
    """The operator endpoints alone, for `access.operatorEndpoints: port`. Not for the proxy's
    side: nothing here is filtered, so it belongs on a port only Prometheus and operators reach."""
    from startpunkt.web import api, pages, probes  # noqa: PLC0415

    routes = [
        route
        for route in (*probes.routes(ctx), *api.routes(ctx), *pages.routes(ctx))
        if getattr(route, "path", None) in OPERATOR_PATHS
    ]
    return Starlette(routes=routes, middleware=[Middleware(_OperatorPort)])
