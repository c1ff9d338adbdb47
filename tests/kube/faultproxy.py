"""A loopback proxy in front of the real kube-apiserver that injects the faults the server
cannot produce on demand: 429, 500 and 403 answers, a stream cut in the middle, a stream that
goes silent without closing, a continue token that has expired. Everything else is forwarded
untouched."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Faults:
    # (status, headers) answered instead of forwarding, to the next watch requests in turn
    watch_answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    cut_watch_after: int | None = None  # forward this many events, then drop the connection
    stall_watch_after: int | None = None  # forward this many events, then go silent
    requests: list[tuple[float, str, bool]] = field(default_factory=list)  # (time, path, watch)
    # answer this many LIST pages that carry a continue token with 410 Expired
    expire_continue: int = 0
    # (path, query parameters) of every request that is not a watch
    gets: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream: str, ca_file: str, token: str) -> None:
        self.faults = Faults()
        self._client = httpx.AsyncClient(
            base_url=upstream,
            verify=ssl.create_default_context(cafile=ca_file),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=None),
        )
        app = Starlette(routes=[Route("/{path:path}", self._forward)])
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FaultProxy:
        self._server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:  # noqa: ASYNC110  (uvicorn offers a flag, no event)
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=5)
        await self._client.aclose()

    def lists(self, plural: str = "applications") -> int:
        """LIST requests for `plural` (discovery requests are not counted)."""
        return sum(
            1 for _, path, watch in self.faults.requests if not watch and path.endswith(plural)
        )

    def watches(self) -> list[float]:
        return [t for t, _, watch in self.faults.requests if watch]

    async def _forward(self, request: Request) -> Response:
        watch = request.query_params.get("watch") in ("1", "true")
        loop = asyncio.get_running_loop()
        self.faults.requests.append((loop.time(), request.url.path, watch))
        if watch and self.faults.watch_answers:
            status, headers = self.faults.watch_answers.pop(0)
            body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d}' % status
            return Response(body, status, headers, media_type="application/json")
        if not watch:
            self.faults.gets.append((request.url.path, dict(request.query_params)))
        if not watch and "continue" in request.query_params and self.faults.expire_continue:
            self.faults.expire_continue -= 1
            body = (
                b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired",'
                b'"message":"The provided continue parameter is too old","code":410}'
            )
            return Response(body, 410, media_type="application/json")
        upstream = self._client.build_request(
            "GET", request.url.path, params=list(request.query_params.multi_items())
        )
        response = await self._client.send(upstream, stream=True)
        if not watch:
            body = await response.aread()
            await response.aclose()
            return Response(body, response.status_code, media_type="application/json")
        return StreamingResponse(
            self._events(response), response.status_code, media_type="application/json"
        )

    async def _events(self, response: httpx.Response) -> AsyncIterator[bytes]:
        cut, stall = self.faults.cut_watch_after, self.faults.stall_watch_after
        sent = 0
        try:
            async for line in response.aiter_lines():
                if cut is not None and sent >= cut:
                    self.faults.cut_watch_after = None
                    raise ConnectionResetError("the proxy cuts the stream")
                if stall is not None and sent >= stall:
                    self.faults.stall_watch_after = None
                    await asyncio.sleep(3600)  # silent, but never closed
                yield (line + "\n").encode()
                sent += 1
        finally:
            await response.aclose()
