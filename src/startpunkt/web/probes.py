"""Health probes and metrics: `/livez`, `/readyz`, `/metrics`, and the original's
`/q/health/live`, `/q/health/ready` and `/q/health/started`, which answer the same way.

- `/livez` answers as long as the event loop does; it never depends on the Kubernetes API, so an
  API-server outage does not get every replica restarted (spec §12 item 18). A crashed watcher
  ends the process instead (the runtime's rule), which is what liveness would have detected.
- `/readyz` is 503 until every source has finished its first LIST, naming the ones that have not.
- `/metrics` is Prometheus text from the runtime's registry, which also holds the web metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.web.context import WebContext
from startpunkt.web.errors import error
from startpunkt.web.metrics import metrics_for

NO_STORE = {"Cache-Control": "no-store"}


def not_synced(status: Mapping[str, Any]) -> list[str]:
    """The sources in the runtime's status (`{"sources": [{"source", "namespace", "state"}]}`)
    that have not been listed yet; a `synced` flag, where present, is taken as it is."""
    sources = status.get("sources")
    waiting: list[str] = []
    for source in sources if isinstance(sources, list) else ():
        if not isinstance(source, Mapping):
            continue
        synced = source.get("synced", source.get("state") in ("synced", "absent"))
        if synced is not True:
            name = str(source.get("source", "?"))
            namespace = source.get("namespace")
            waiting.append(f"{name} in {namespace}" if namespace else name)
    return sorted(waiting)


def routes(ctx: WebContext) -> list[BaseRoute]:
    metrics_for(ctx)  # registered before the first scrape

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        status = dict(ctx.sources_status())
        if ctx.ready():
            return JSONResponse({"status": "ready", "sources": status}, headers=NO_STORE)
        waiting = not_synced(status)
        message = (
            f"not ready: waiting for the first sync of {', '.join(waiting)}"
            if waiting
            else "not ready: starting"
        )
        return error(503, message, headers=NO_STORE, notSynced=waiting, sources=status)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)

    async def started(request: Request) -> Response:
        # answering at all means start-up is over: the configuration was valid and the
        # listener is open (a startup probe then hands over to liveness)
        return JSONResponse({"status": "started"}, headers=NO_STORE)

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        # the paths the original's Helm chart probes (Quarkus' SmallRye Health)
        Route("/q/health/live", livez, methods=["GET"]),
        Route("/q/health/ready", readyz, methods=["GET"]),
        Route("/q/health/started", started, methods=["GET"]),
    ]
