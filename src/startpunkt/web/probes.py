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
from pathlib import PurePath

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.checking.probing import redact
from startpunkt.shapes.status import ClusterStatusJSON, HealthJSON, SourcesJSON, SourceStatusJSON
from startpunkt.store import Snapshot, probe_target
from startpunkt.web.audiences import Views
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error
from startpunkt.web.metrics import metrics_for

NO_STORE = {"Cache-Control": "no-store"}


def not_synced(status: SourcesJSON) -> list[str]:
    """The sources in the runtime's status that have not been listed yet."""
    waiting = [
        f"{source['source']} in {source['namespace']}" if source["namespace"] else source["source"]
        for source in status.get("sources", ())
        if not source["synced"]
    ]
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


def public_status(status: SourcesJSON) -> SourcesJSON:
    """The runtime's source status as anyone may read it: the manifests directory by its own
    name, files relative to it, and errors as a category rather than their full text."""
    public = status.copy()
    root_path = PurePath(status["manifests"]) if "manifests" in status else None
    if root_path is not None:
        public["manifests"] = root_path.name
    if "errors" in status:
        public["errors"] = {
            _relative(path, root_path): _file_category(text)
            for path, text in status["errors"].items()
        }
    if "sources" in status:
        public["sources"] = [_public_source(s) for s in status["sources"]]
    if "clusters" in status:
        public["clusters"] = [_public_cluster(c) for c in status["clusters"]]
    return public


def _public_cluster(cluster: ClusterStatusJSON) -> ClusterStatusJSON:
    if cluster["error"] is None:
        return cluster
    return {**cluster, "error": error_category(cluster["error"])}


def _public_source(source: SourceStatusJSON) -> SourceStatusJSON:
    if source["lastError"] is None:
        return source
    return {**source, "lastError": error_category(source["lastError"])}


def _health(body: HealthJSON) -> Response:
    return JSONResponse(body, headers=NO_STORE)


def routes(ctx: WebContext) -> list[BaseRoute]:
    metrics_for(ctx)  # registered before the first scrape
    seen = Views(ctx.settings.access)

    async def livez(request: Request) -> Response:
        return _health({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if seen.operator_gate(request, "/api/sources") is not None:
            # the per-source details are /api/sources' to give; the status is everyone's
            if ctx.ready():
                return JSONResponse({"status": "ready"}, headers=NO_STORE)
            return error(503, "not ready", headers=NO_STORE)
        status = public_status(ctx.sources_status())
        if ctx.ready():
            return _health({"status": "ready", "sources": status})
        waiting = not_synced(status)
        message = (
            f"not ready: waiting for the first sync of {', '.join(waiting)}"
            if waiting
            else "not ready: starting"
        )
        return error(503, message, headers=NO_STORE, not_synced=waiting, sources=status)

    async def metrics(request: Request) -> Response:
        if refused := seen.operator_gate(request, "/metrics"):
            return refused
        audience, view = seen.view(request, ctx.store.snapshot())
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
