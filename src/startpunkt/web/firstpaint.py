"""The start page's first paint, `GET /`, rendered once per snapshot and compressed once.

Rendering the page costs time in proportion to the apps (hundreds of milliseconds at 5,000), yet
between two store changes every viewer with the same language and settings gets the same bytes.
The page's own route renders it as always; this keeps what it rendered, keyed by the snapshot
and the two request headers the page varies on (`Accept-Language`, `Cookie`), and serves the
next such request from memory, brotli- or gzip-compressed (made in a worker thread) when the
client accepts it. Only the bare `/` is kept: a query (`?lang=`, `?tags=`) or a response that
sets a cookie goes to the route every time. Entries of an older snapshot are dropped as soon as
a newer one is seen, and at most `SIZE` variants are kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from startpunkt.store import Snapshot
from startpunkt.web.caching import Encoded, accepted, schedule_compression
from startpunkt.web.context import WebContext
from startpunkt.web.metrics import metrics_for

SIZE = 16  # languages x settings cookies worth keeping per snapshot
PATH = "/"


class _Page:
    __slots__ = ("doc", "headers")

    def __init__(self, doc: Encoded, headers: list[tuple[bytes, bytes]]) -> None:
        self.doc = doc
        self.headers = headers


class FirstPaint:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.metrics = metrics_for(ctx)
        self._snapshot: Snapshot | None = None
        self._pages: OrderedDict[tuple[bytes, bytes], _Page] = OrderedDict()

    def wants(self, scope: Scope) -> bool:
        return bool(
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "GET"
            and not scope["query_string"]
            and self.ctx.settings.watch.enabled
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send, render: ASGIApp) -> None:
        started = time.perf_counter()
        snapshot = self.ctx.store.snapshot()
        if snapshot is not self._snapshot:
            self._snapshot = snapshot
            self._pages.clear()
        language, cookie, accept = b"", b"", ""
        for name, value in scope["headers"]:
            if name == b"accept-language":
                language = value
            elif name == b"cookie":
                cookie = value
            elif name == b"accept-encoding":
                accept = value.decode("latin-1")
        key = (language, cookie)
        page = self._pages.get(key)
        if page is None:
            await self._render(scope, receive, send, render, key, snapshot)
            return
        self._pages.move_to_end(key)
        await self._send(send, page, accept)
        self.metrics.requests.labels(PATH, "200").inc()
        self.metrics.response_start.labels(PATH).observe(time.perf_counter() - started)

    async def _render(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        render: ASGIApp,
        key: tuple[bytes, bytes],
        snapshot: Snapshot,
    ) -> None:
        """The route renders and answers; a complete, cookie-free 200 is kept."""
        start: Message = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False) and self._keepable(start, snapshot):
                    self._keep(key, start, b"".join(body))
            await send(message)

        await render(scope, receive, keep)

    def _keepable(self, start: Message, snapshot: Snapshot) -> bool:
        headers = start.get("headers", [])
        return (
            start.get("status") == 200
            and not any(name.lower() == b"set-cookie" for name, _ in headers)
            and self.ctx.store.snapshot() is snapshot
        )

    def _keep(self, key: tuple[bytes, bytes], start: Message, body: bytes) -> None:
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() not in (b"content-length", b"vary")
        ]
        headers.append((b"vary", b"Accept-Language, Cookie, Accept-Encoding"))
        self._pages[key] = _Page(Encoded(body, ""), headers)
        while len(self._pages) > SIZE:
            self._pages.popitem(last=False)

    async def _send(self, send: Send, page: _Page, accept: str) -> None:
        doc = page.doc
        doc.hits += 1
        codings = accepted(accept) if accept else frozenset()
        body, headers = doc.body, list(page.headers)
        for encoding in ("br", "gzip"):
            if encoding in codings and (variant := doc.variants.get(encoding)) is not None:
                body = variant.body
                headers.append((b"content-encoding", variant.encoding))
                break
        else:
            if codings and not doc.compressing:
                schedule_compression(doc)
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
