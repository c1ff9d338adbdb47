"""Health probes and metrics: `/livez`, `/readyz`, `/metrics`, and the original's
`/q/health/live`, `/q/health/ready` and `/q/health/started`, which answer the same way.

- `/livez` answers as long as the event loop does; it never depends on the Kubernetes API, so an
  API-server outage does not get every replica restarted (spec §12 item 18). A crashed watcher
  ends the process instead (the runtime's rule), which is what liveness would have detected.
- `/readyz` is 503 until every source has finished its first LIST, naming the ones that have not.
  It and `/api/sources` publish `public_status()`: no file system paths, no error texts.
- `/metrics` is Prometheus text from the runtime's registry, which also holds the web metrics.
  With access configured, series that name an app (`key`, or a probed `url`) are left out for
  apps the asker may not see, unless it is an admin or comes in on the operator port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import PurePath

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.backend import BackendStatus, ManifestsStatus, WatchStatus
from startpunkt.checking.probing import redact
from startpunkt.shapes.status import HealthJSON, SourcesJSON
from startpunkt.store import Snapshot, probe_target
from startpunkt.web.audiences import Views
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error

NO_STORE = {"Cache-Control": "no-store"}


def not_synced(status: BackendStatus) -> list[str]:
    """The sources of the backend that have not been listed yet."""
    if not isinstance(status, WatchStatus):
        return []
    return sorted(
        f"{s.source} in {s.namespace}" if s.namespace else s.source
        for s in status.sources
        if not s.synced
    )


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


_YAML_MARK = re.compile(r":(\d+):(\d+): ")
_HTTP_STATUS = re.compile(r"(\d{3}) ([A-Za-z]{1,40})\b")
_EXCEPTION = re.compile(r"[A-Z][A-Za-z]{0,60}(?:Error|Timeout|Exception)\b")
_PLAIN = re.compile(r"[a-z ]{1,60}")


def error_category(text: str) -> str:
    """A short, fixed-vocabulary label for a source's last error.

    The full text (user names, addresses, object names from the API server) is logged where
    it happens; what anyone may read is `403 Forbidden`, `ConnectError` and the like.
    """
    if match := _HTTP_STATUS.match(text):
        return f"{match.group(1)} {match.group(2)}"
    if match := _EXCEPTION.match(text):
        return match.group(0)
    if _PLAIN.fullmatch(text):
        return text
    return "error (see the log)"


def _file_category(text: str) -> str:
    if match := _YAML_MARK.search(text):
        return f"not valid YAML (line {match.group(1)}, column {match.group(2)})"
    return "not a usable manifest (see the log)"


def _relative(path: str, root: PurePath | None) -> str:
    pure = PurePath(path)
    if root is not None and pure.is_relative_to(root):
        return pure.relative_to(root).as_posix()
    return pure.name


def public_status(status: BackendStatus) -> SourcesJSON:
    """The backend's status as anyone may read it: the manifests directory by its own name,
    files relative to it, and errors as a category rather than their full text."""
    sources = tuple(
        replace(s, last_error=error_category(s.last_error)) if s.last_error is not None else s
        for s in status.sources
    )
    clusters = (
        tuple(
            replace(c, error=error_category(c.error)) if c.error is not None else c
            for c in status.clusters
        )
        if status.clusters is not None
        else None
    )
    if isinstance(status, ManifestsStatus):
        root = PurePath(status.directory)
        errors = {
            _relative(path, root): _file_category(text) for path, text in status.errors.items()
        }
        public = replace(status, directory=root.name, errors=errors)
        return replace(public, sources=sources, clusters=clusters).as_json()
    return replace(status, sources=sources, clusters=clusters).as_json()


def _health(body: HealthJSON) -> Response:
    return JSONResponse(body, headers=NO_STORE)


def routes(ctx: WebContext) -> list[BaseRoute]:
    seen = Views(ctx.settings.access)

    async def livez(request: Request) -> Response:
        return _health({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if seen.operator_gate(request, "/api/sources") is not None:
            # the per-source details are /api/sources' to give; the status is everyone's
            if ctx.backend.ready():
                return JSONResponse({"status": "ready"}, headers=NO_STORE)
            return error(503, "not ready", headers=NO_STORE)
        status = ctx.backend.status()
        public = public_status(status)
        if ctx.backend.ready():
            return _health({"status": "ready", "sources": public})
        waiting = not_synced(status)
        message = (
            f"not ready: waiting for the first sync of {', '.join(waiting)}"
            if waiting
            else "not ready: starting"
        )
        return error(503, message, headers=NO_STORE, not_synced=waiting, sources=public)

    async def metrics(request: Request) -> Response:
        if refused := seen.operator_gate(request, "/metrics"):
            return refused
        audience, view = seen.view(request, ctx.catalog.snapshot())
        if not seen.enabled or audience.is_admin:
            return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
        filtered = VisibleSeries(ctx.registry, view)
        return Response(generate_latest(filtered), media_type=CONTENT_TYPE_LATEST)

    async def started(request: Request) -> Response:
        # answering at all means start-up is over: the configuration was valid and the
        # listener is open (a startup probe then hands over to liveness)
        return _health({"status": "started"})

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        # the paths the original's Helm chart probes (Quarkus' SmallRye Health)
        Route("/q/health/live", livez, methods=["GET"]),
        Route("/q/health/ready", readyz, methods=["GET"]),
        Route("/q/health/started", started, methods=["GET"]),
    ]
