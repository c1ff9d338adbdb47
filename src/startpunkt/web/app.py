"""The Starlette application: routes from each web module, and request metrics around them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from startpunkt.web.context import WebContext


def create_app(ctx: WebContext) -> Starlette:
    from startpunkt.web import api, pages, probes, stream  # noqa: PLC0415  (cycle-free wiring)
    from startpunkt.web.headers import NoSniff  # noqa: PLC0415
    from startpunkt.web.metrics import RequestMetrics, metrics_for  # noqa: PLC0415

    routes: list[BaseRoute] = [
        *probes.routes(ctx),
        *stream.routes(ctx),
        *api.routes(ctx),
        *pages.routes(ctx),
    ]
    middleware = [Middleware(NoSniff), Middleware(RequestMetrics, metrics=metrics_for(ctx))]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.ctx = ctx
    return app
