"""Health probes and metrics: `/livez`, `/readyz`, `/metrics`, and the original's
`/q/health/live`, `/q/health/ready` and `/q/health/started`, which answer the same way.

- `/livez` answers as long as the event loop does; it never depends on the Kubernetes API, so an
  API-server outage does not get every replica restarted (spec §12 item 18). A crashed watcher
  ends the process instead (the runtime's rule), which is what liveness would have detected.
- `/readyz` is 503 until every source has finished its first LIST, naming the ones that have not.
  It and `/api/sources` publish `public_status()`: no file system paths, no error texts.
- `/metrics` is Prometheus text from the runtime's registry, which also holds the web metrics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath
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


def public_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime's source status as anyone may read it: the manifests directory by its own
    name, files relative to it, and errors as a category rather than their full text."""
    public = dict(status)
    root = status.get("manifests")
    root_path = PurePath(root) if isinstance(root, str) else None
    if root_path is not None:
        public["manifests"] = root_path.name
    errors = status.get("errors")
    if isinstance(errors, Mapping):
        public["errors"] = {
            _relative(str(path), root_path): _file_category(str(text))
            for path, text in errors.items()
        }
    sources = status.get("sources")
    if isinstance(sources, list):
        public["sources"] = [_public_source(s) for s in sources]
    clusters = status.get("clusters")
    if isinstance(clusters, list):
        public["clusters"] = [_public_cluster(c) for c in clusters]
    return public


def _public_cluster(cluster: object) -> object:
    if not isinstance(cluster, Mapping) or not isinstance(cluster.get("error"), str):
        return cluster
    return {**cluster, "error": error_category(cluster["error"])}


def _public_source(source: object) -> object:
    if not isinstance(source, Mapping) or not isinstance(source.get("lastError"), str):
        return source
    return {**source, "lastError": error_category(source["lastError"])}


def routes(ctx: WebContext) -> list[BaseRoute]:
    metrics_for(ctx)  # registered before the first scrape

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        status = public_status(ctx.sources_status())
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
