"""JSON error bodies for `/api`, probes and the event stream: `{"error": "...", "status": N}`.

The original put its error message in the HTTP reason phrase and sent an empty body; a JSON body
says what went wrong and, for bad input, how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from startpunkt.shapes.status import ErrorJSON, SourcesJSON
from startpunkt.web.params import quoted


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(status: int, message: str) -> ErrorJSON:
    return {"error": message, "status": status}


def error(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    not_synced: list[str] | None = None,
    sources: SourcesJSON | None = None,
) -> Response:
    body = error_body(status, message)
    if not_synced is not None:
        body["notSynced"] = not_synced
    if sources is not None:
        body["sources"] = sources
    return Response(dumps(body), status, headers=headers, media_type="application/json")


async def unknown_api_path(request: Request) -> Response:
    """The last `/api` route: 405 for a known path with another method, else 404, as JSON."""
    routes: list[BaseRoute] = request.app.router.routes
    allowed: set[str] = set()
    for route in routes:
        match, _ = route.matches(request.scope)
        if match is Match.PARTIAL:
            allowed |= set(getattr(route, "methods", None) or ())
    if allowed:
        methods = ", ".join(sorted(allowed))
        return error(
            405,
            f"{request.method} is not allowed on {quoted(request.url.path)}; use {methods}",
            headers={"Allow": methods},
        )
    return error(404, f"no such API path: {quoted(request.url.path)} (see /api/openapi.json)")
