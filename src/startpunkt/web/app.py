"""The Starlette application: routes from each web module, and request metrics around them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from startpunkt.web.context import WebContext


def create_app(ctx: WebContext) -> Starlette:
    from startpunkt.web import api, pages, probes, stream  # noqa: PLC0415  (cycle-free wiring)
    from startpunkt.web.metrics import RequestMetrics, metrics_for  # noqa: PLC0415

    routes: list[BaseRoute] = [
        *probes.routes(ctx),
        *stream.routes(ctx),
        *api.routes(ctx),
        *pages.routes(ctx),
    ]
    middleware = [Middleware(RequestMetrics, metrics=metrics_for(ctx))]
    if ctx.settings.access.enabled:
        from startpunkt.web.identity import Identity  # noqa: PLC0415

        middleware.append(Middleware(Identity, access=ctx.settings.access))
    app = Starlette(routes=routes, middleware=middleware)
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
