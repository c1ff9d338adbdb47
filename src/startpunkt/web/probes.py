"""Health probes and metrics: `/livez`, `/readyz`, `/metrics`.

- `/livez` answers as long as the event loop does; it never depends on the Kubernetes API, so an
  API-server outage does not get every replica restarted (spec §12 item 18). A crashed watcher
  ends the process instead (the runtime's rule), which is what liveness would have detected.
- `/readyz` is 503 until every source has finished its first LIST, naming the ones that have not.
- `/metrics` is Prometheus text from the runtime's registry, which also holds the web metrics.
  With access configured, series that name an app (`key`, or a probed `url`) are left out for
  apps the asker may not see, unless it is an admin or comes in on the operator port.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.checking.probing import redact
from startpunkt.store import Snapshot, probe_target
from startpunkt.web.audiences import Views
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


class VisibleSeries(Collector):
    """A registry as one audience may read it: per-app series only for the apps in `view`."""

    def __init__(self, registry: CollectorRegistry, view: Snapshot) -> None:
        self._registry = registry
        self._keys = {app.key for app in view.applications}
        self._urls = {redact(t.url) for app in view.applications if (t := probe_target(app))}

    def _keep(self, labels: Mapping[str, str]) -> bool:
        if (key := labels.get("key")) is not None and key not in self._keys:
            return False
        return (url := labels.get("url")) is None or url in self._urls

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = [s for s in family.samples if self._keep(s.labels)]
            yield kept


def routes(ctx: WebContext) -> list[BaseRoute]:
    metrics_for(ctx)  # registered before the first scrape
    seen = Views(ctx.settings.access)

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        if seen.operator_gate(request, "/api/sources") is not None:
            # the per-source details are /api/sources' to give; the status is everyone's
            if ctx.ready():
                return JSONResponse({"status": "ready"}, headers=NO_STORE)
            return error(503, "not ready", headers=NO_STORE)
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
        if refused := seen.operator_gate(request, "/metrics"):
            return refused
        audience, view = seen.view(request, ctx.store.snapshot())
        if not seen.enabled or audience.is_admin:
            return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
        filtered = VisibleSeries(ctx.registry, view)
        return Response(generate_latest(filtered), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
