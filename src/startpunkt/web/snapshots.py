"""The snapshot documents every page load asks for, answered ahead of the middleware stack.

`GET /api/apps[?tags=...]` and `GET /api/bookmarks` are most of the API's traffic and the same
bytes between two store changes: here they are served from the per-snapshot cache (encoded
once, compressed once) straight to the server, with the headers the stack would add, and
counted in the request metrics as the stack would count them. Anything this cannot answer as
the stack would (another path or method, a query it does not know, a bad parameter, a store
that is refreshed on demand because watching is off) is left to the stack, which gives the same
answer or the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client.metrics import Counter, Histogram
from starlette.datastructures import QueryParams
from starlette.types import Scope, Send

from startpunkt.store import Snapshot
from startpunkt.web.api import apps_document, bookmarks_document
from startpunkt.web.caching import Prepared, SnapshotCache, prepare
from startpunkt.web.context import WebContext
from startpunkt.web.params import BadParameter, wanted_tags

APPS = "/api/apps"
BOOKMARKS = "/api/bookmarks"
SECURITY = [(b"x-content-type-options", b"nosniff")]
MAX_QUERIES = 256  # distinct query strings remembered


class SnapshotRoutes:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.cache = SnapshotCache()
        self.metrics = ctx.metrics
        self._queries: dict[bytes, frozenset[str] | None] = {}
        self._counted: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def wants(self, scope: Scope) -> bool:
        return bool(
            scope["type"] == "http"
            and scope["path"] in (APPS, BOOKMARKS)
            and scope["method"] in ("GET", "HEAD")
            and self.ctx.settings.watch.enabled
        )

    def respond(self, scope: Scope) -> Prepared | None:
        """The response, or None to leave the request to the stack."""
        snapshot = self.ctx.catalog.snapshot()
        if scope["path"] == APPS:
            known, wanted = self._wanted(scope["query_string"])
            if not known:
                return None
            key: tuple[Any, ...] = ("apps", wanted)
            build: Callable[[Snapshot], Any] = lambda s: apps_document(s, wanted)  # noqa: E731
        elif scope["query_string"]:
            return None
        else:
            key, build = ("bookmarks",), bookmarks_document
        doc = self.cache.get(snapshot, key, build)
        accept, inm = "", None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                inm = value.decode("latin-1")
        return prepare(doc, accept, if_none_match=inm, extra=SECURITY)

    async def send(self, scope: Scope, send: Send, *, response: Prepared, started: float) -> None:
        counted = self._counted.get((scope["path"], response.status_code))
        if counted is None:
            labels = (scope["path"], str(response.status_code))
            counted = (
                self.metrics.requests.labels(*labels),
                self.metrics.response_start.labels(scope["path"]),
            )
            self._counted[(scope["path"], response.status_code)] = counted
        counted[0].inc()
        counted[1].observe(time.perf_counter() - started)
        start = {"type": "http.response.start", "status": response.status_code}
        await send({**start, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})

    def _wanted(self, query: bytes) -> tuple[bool, frozenset[str] | None]:
        """The tag filter of a query string; (False, None) when the stack must answer it."""
        if query in self._queries:
            return True, self._queries[query]
        try:  # other parameters are ignored, as the API route does
            params = QueryParams(query.decode("latin-1"))
            if "cluster" in params:
                return False, None  # a cluster filter is the API route's
            tags = params.get("tags")
            wanted = wanted_tags(tags, self.ctx.settings.web.show_all_on_root)
        except BadParameter:
            return False, None
        if len(self._queries) >= MAX_QUERIES:
            self._queries.clear()
        self._queries[query] = wanted
        return True, wanted
