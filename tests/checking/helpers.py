"""A real HTTP server for probes, a real Store with test apps, and settings for the Checker."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from startpunkt.checking import Checker
from startpunkt.config import Availability as AvailabilitySettings
from startpunkt.config import Backoff, Settings
from startpunkt.model import Application, ObjectRef, Outcome, ProbeSettings
from startpunkt.store import Change, KubeObject, Notice, Resync, Store

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    501: "Not Implemented",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    at: float  # loop time when it arrived


Handler = Callable[
    ["HttpServer", Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]
]


async def send(
    writer: asyncio.StreamWriter,
    request: Request,
    status: int,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bool:
    """One complete response; True keeps the connection open."""
    head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    all_headers = {"Content-Length": str(len(body)), **(headers or {})}
    head += [f"{k}: {v}" for k, v in all_headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    if request.method != "HEAD":
        writer.write(body)
    await writer.drain()
    return True


def status(code: int, **headers: str) -> Handler:
    async def handler(
        server: HttpServer, request: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> bool:
        return await send(w, request, code, dict(headers), b"body")

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    return status(code, Location=location)


async def ok(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 200, {}, b"hello")


async def slow(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    await asyncio.sleep(0.3)  # the behaviour under test: an answer that takes a while
    return await send(w, r, 200, {}, b"slow")


async def hang(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    """Never answers; notices when the client gives up and closes the connection."""
    await reader.read()
    server.disconnects[r.path] = server.disconnects.get(r.path, 0) + 1
    return False


async def no_head(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 405 if r.method == "HEAD" else 200, {"Allow": "GET"}, b"ok")


async def head_not_implemented(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 501 if r.method == "HEAD" else 200, {}, b"ok")


async def huge(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    """405 to HEAD; to GET, a chunked body that never ends until the client hangs up."""
    if r.method == "HEAD":
        return await send(w, r, 405, {"Allow": "GET"})
    w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    try:
        while True:
            w.write(framed)
            await w.drain()
            server.streamed += len(chunk)
    except ConnectionError:
        server.disconnects[r.path] = server.disconnects.get(r.path, 0) + 1
    return False


async def set_cookie(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 200, {"Set-Cookie": "session=secret; Path=/"})


async def gate(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    """Answers 200 once the test opens the gate."""
    await server.gate.wait()
    return await send(w, r, 200)


async def flaky(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    """Answers with whatever status the test puts next in `server.script` (or `server.flaky`)."""
    code = server.script.pop(0) if server.script else server.flaky
    return await send(w, r, code)


DEFAULT_ROUTES: dict[str, Handler] = {
    "/ok": ok,
    "/slow": slow,
    "/hang": hang,
    "/hang2": hang,
    "/missing": status(404),
    "/error": status(500),
    "/no-head": no_head,
    "/head-501": head_not_implemented,
    "/auth": status(401, **{"WWW-Authenticate": 'Basic realm="apps"'}),
    "/forbidden": status(403),
    "/moved": redirect("/ok", 301),
    "/loop": redirect("/loop"),
    "/ping": redirect("/pong"),
    "/pong": redirect("/ping"),
    "/to-ftp": redirect("ftp://files.example.com/pub/"),
    "/to-js": redirect("javascript:alert(1)"),
    "/huge": huge,
    "/set-cookie": set_cookie,
    "/gate": gate,
    "/flaky": flaky,
}


@dataclass
class HttpServer:
    """A real HTTP/1.1 server with keep-alive and a handler per path (query ignored)."""

    tls: ssl.SSLContext | None = None
    routes: dict[str, Handler] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    seen: list[Request] = field(default_factory=list)
    active: int = 0
    peak: int = 0  # most requests in progress at once
    streamed: int = 0
    disconnects: dict[str, int] = field(default_factory=dict)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    script: list[int] = field(default_factory=list)
    flaky: int = 200
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)

    def url(self, path: str) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}{path}"

    def requests(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.seen if r.path == path and method in (None, r.method)]

    def count(self, path: str, method: str | None = None) -> int:
        return len(self.requests(path, method))

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            keep_open = True
            while keep_open:
                request = await self._read_request(reader)
                if request is None:
                    return
                self.seen.append(request)
                self.active += 1
                self.peak = max(self.peak, self.active)
                try:
                    handler = self.routes.get(request.path, status(404))
                    keep_open = await handler(self, request, reader, writer)
                finally:
                    self.active -= 1
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server is closing; ending this connection is the point
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Request | None:
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()).strip():
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        at = asyncio.get_running_loop().time()
        return Request(method, target.split("?", 1)[0], headers, at)


def mapper(source: str, obj: KubeObject) -> Outcome | None:
    """Test objects -> Applications; EndpointSlices are only looked up, never shown."""
    if source != "test":
        return None
    meta, spec = obj["metadata"], obj["spec"]
    accepted = spec.get("accepted")
    probe = ProbeSettings(
        enabled=spec.get("probe", True),
        url=spec.get("health"),
        accepted=frozenset(accepted) if accepted is not None else None,
        timeout=spec.get("timeout"),
    )
    app = Application(
        key=f"test/{meta['namespace']}/{meta['name']}",
        name=spec.get("title", meta["name"]),
        group=spec.get("group", "Apps"),
        url=spec["url"],
        source="test",
        namespace=meta["namespace"],
        resource_name=meta["name"],
        probe=probe,
        backend_services=tuple(spec.get("services", ())),
    )
    return Outcome.shown(ObjectRef("App", meta["namespace"], meta["name"]), app)


class Apps:
    """Adds and removes test apps in a real Store, and records what the store publishes."""

    def __init__(self) -> None:
        self.store = Store(mapper)
        self.changes: list[Change] = []
        self.store.subscribe(self._listen)

    def _listen(self, notice: Notice) -> None:
        if not isinstance(notice, Resync):
            self.changes.extend(notice)

    def add(self, name: str, url: str, namespace: str = "default", **spec: Any) -> Application:
        obj = {"metadata": {"namespace": namespace, "name": name}, "spec": {"url": url, **spec}}
        self.store.apply("test", "ADDED", obj)
        app = self.get(name, namespace)
        assert app is not None
        return app

    def remove(self, name: str, namespace: str = "default") -> None:
        obj = {"metadata": {"namespace": namespace, "name": name}, "spec": {}}
        self.store.apply("test", "DELETED", obj)

    def get(self, name: str, namespace: str = "default") -> Application | None:
        key = f"test/{namespace}/{name}"
        return next((a for a in self.store.snapshot().applications if a.key == key), None)

    def availability(self, name: str, namespace: str = "default") -> Any:
        return self.store.snapshot().availability[f"test/{namespace}/{name}"]

    def state(self, name: str, namespace: str = "default") -> str:
        return str(self.availability(name, namespace).state.value)

    def statuses(self, name: str, namespace: str = "default") -> list[str]:
        key = f"test/{namespace}/{name}"
        return [
            c.availability.state.value
            for c in self.changes
            if c.action == "status" and c.item.key == key
        ]


def settings(**availability: Any) -> Settings:
    """These tests look at what a probe found, so the details are published unless a test
    says otherwise (the default, off, is tested in test_health_url_policy.py)."""
    backoff = availability.pop("backoff", {})
    availability.setdefault("publish_details", True)
    return Settings(availability=AvailabilitySettings(backoff=Backoff(**backoff), **availability))


@dataclass
class Running:
    checker: Checker
    task: asyncio.Task[None]
    registry: CollectorRegistry
