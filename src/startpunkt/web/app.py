"""The Starlette application: routes from each web module, nothing else."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from startpunkt.web.context import WebContext


def create_app(ctx: WebContext) -> Starlette:
    from startpunkt.web import api, pages, probes, stream  # noqa: PLC0415  (cycle-free wiring)

    routes: list[BaseRoute] = [
        *probes.routes(ctx),
        *stream.routes(ctx),
        *api.routes(ctx),
        *pages.routes(ctx),
    ]
    app = Starlette(routes=routes)
    app.state.ctx = ctx
    return app
