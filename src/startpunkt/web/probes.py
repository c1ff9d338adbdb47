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
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.backend import BackendStatus, ClusterStatus, ManifestsStatus
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error

NO_STORE = {"Cache-Control": "no-store"}


def not_synced(status: BackendStatus) -> list[str]:
    """The sources of the backend that have not been listed yet."""
    if not isinstance(status, ClusterStatus):
        return []
    return sorted(
        f"{s.source} in {s.namespace}" if s.namespace else s.source
        for s in status.sources
        if not s.synced
    )


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


def public_status(status: BackendStatus) -> dict[str, Any]:
    """The backend's status as anyone may read it: the manifests directory by its own name,
    files relative to it, and errors as a category rather than their full text."""
    if isinstance(status, ManifestsStatus):
        root = PurePath(status.directory)
        errors = {
            _relative(path, root): _file_category(text) for path, text in status.errors.items()
        }
        return replace(status, directory=root.name, errors=errors).as_json()
    sources = tuple(
        replace(s, last_error=error_category(s.last_error)) if s.last_error is not None else s
        for s in status.sources
    )
    return replace(status, sources=sources).as_json()


def routes(ctx: WebContext) -> list[BaseRoute]:

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        status = ctx.backend.status()
        public = public_status(status)
        if ctx.backend.ready():
            return JSONResponse({"status": "ready", "sources": public}, headers=NO_STORE)
        waiting = not_synced(status)
        message = (
            f"not ready: waiting for the first sync of {', '.join(waiting)}"
            if waiting
            else "not ready: starting"
        )
        return error(503, message, headers=NO_STORE, notSynced=waiting, sources=public)

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
