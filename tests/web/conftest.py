"""The real app on a real loopback port, inside the test's event loop, fed through its catalog.

`make_site(...)` builds Catalog -> Hub -> WebContext -> create_app and runs the project's server
(`startpunkt.web.serving`: uvicorn with its limits) as a task, so a test writes to the catalog
synchronously and reads what a browser would read over HTTP. Simple dict objects (the shape of
the custom resources) become outcomes through `outcome_of`, and `Site.feed` puts them in the
catalog, so these tests exercise the web layer alone.

`Site.stream()` opens `/api/updates/stream` with httpx and parses the SSE wire format itself; a
background task moves events into a queue, so waiting for one with a deadline never breaks the
stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from startpunkt.backend import BackendStatus, SourceStatus, WatchStatus
from startpunkt.catalog import Catalog, Change
from startpunkt.config import Settings
from startpunkt.events import Hub
from startpunkt.model import Application, Bookmark, ObjectRef, Outcome
from startpunkt.shapes.status import ReflectorState
from startpunkt.web import serving
from startpunkt.web.app import create_app
from startpunkt.web.context import WebContext
from tests.feeding import Feed, feed_of
from tests.waiting import eventually

APPS = "startpunkt"
BOOKMARKS = "bookmarks"
STREAM = "/api/updates/stream"


def source_status(
    source: str, state: str, namespace: str | None = None, **fields: Any
) -> SourceStatus:
    """One source's health as a reflector reports it (synced when its state says so)."""
    fields.setdefault("synced", state == "synced")
    return SourceStatus(source, source, namespace, ReflectorState(state), **fields)


def app_object(name: str, group: str = "Tools", namespace: str = "default", **spec: Any) -> dict:
    """An Application-like object; `url` defaults to one unique per name (the store de-duplicates
    by URL)."""
    return {
        "kind": "Application",
        "metadata": {"namespace": namespace, "name": name.lower()},
        "spec": {"name": name, "group": group, "url": f"https://{name.lower()}.example", **spec},
    }


def bookmark_object(name: str, group: str = "Links", **spec: Any) -> dict:
    return {
        "kind": "Bookmark",
        "metadata": {"namespace": "default", "name": name.lower()},
        "spec": {"name": name, "group": group, "url": f"https://{name.lower()}.example", **spec},
    }


def outcome_of(source: str, obj: Mapping[str, Any]) -> Outcome:
    meta, spec = obj["metadata"], obj.get("spec", {})
    ref = ObjectRef(obj["kind"], meta["namespace"], meta["name"])
    if "reject" in spec:
        return Outcome.rejected(ref, spec["reject"])
    common: dict[str, Any] = {
        "key": f"{source}/{meta['namespace']}/{meta['name']}",
        "name": spec["name"],
        "group": spec["group"],
        "source": source,
        "namespace": meta["namespace"],
        "resource_name": meta["name"],
        "info": spec.get("info"),
        "icon": spec.get("icon"),
    }
    if "location" in spec:
        common["location"] = spec["location"]
    if obj["kind"] == "Bookmark":
        return Outcome.shown(ref, Bookmark(url=spec["url"], **common))
    app = Application(url=spec.get("url"), tags=tuple(spec.get("tags", ())), **common)
    if "hide" in spec:
        return Outcome.hidden(ref, spec["hide"], app)
    return Outcome.shown(ref, app)


@dataclass
class SSE:
    event: str
    data: str
    id: str | None = None
    retry: int | None = None

    @property
    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def payload(self) -> Any:
        return self.envelope["data"]


async def parse_events(lines: AsyncIterator[str]) -> AsyncIterator[SSE]:
    """The SSE wire format (WHATWG HTML §9.2.6), enough of it for these tests."""
    fields: dict[str, str] = {}
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                retry = fields.get("retry")
                # messages are plain `data:` (no `event:`): the envelope's type names them
                yield SSE(
                    fields.get("event") or json.loads("\n".join(data))["type"],
                    "\n".join(data),
                    fields.get("id"),
                    int(retry) if retry else None,
                )
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields[name] = value


class EventReader:
    """Events of one open stream; `ended` is set when the server closed it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._queue: asyncio.Queue[SSE | None] = asyncio.Queue()
        self.ended = asyncio.Event()
        self.complete = False  # the response ended properly, not with a broken connection
        self.received: list[SSE] = []
        self._task = asyncio.create_task(self._pump(), name="sse-reader")

    async def _pump(self) -> None:
        try:
            async for event in parse_events(self.response.aiter_lines()):
                self.received.append(event)
                self._queue.put_nowait(event)
            self.complete = True
        except (httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server cut the connection: that is an end too
        finally:
            self.ended.set()
            self._queue.put_nowait(None)

    async def next(self, timeout: float = 5.0) -> SSE:
        try:
            async with asyncio.timeout(timeout):
                event = await self._queue.get()
        except TimeoutError:
            raise AssertionError(f"no event within {timeout} s") from None
        if event is None:
            self._queue.put_nowait(None)
            raise AssertionError("the stream ended")
        return event

    async def next_change(self, timeout: float = 5.0) -> SSE:
        """The next event that is not a HEARTBEAT."""
        while True:
            event = await self.next(timeout)
            if event.event != "HEARTBEAT":
                return event

    async def changes_until(self, done: Callable[[SSE], bool], timeout: float = 10.0) -> list[SSE]:
        """Non-heartbeat events up to and including the first for which `done` is true."""
        seen: list[SSE] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.next_change(timeout)
                    seen.append(event)
                    if done(event):
                        return seen
        except TimeoutError:
            got = [(e.event, e.id) for e in seen]
            raise AssertionError(f"not there after {timeout} s; got {got}") from None

    async def wait_ended(self, timeout: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.ended.wait()
        except TimeoutError:
            raise AssertionError(f"the stream was still open after {timeout} s") from None

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class Site:
    url: str
    ctx: WebContext
    server: serving.Server
    task: asyncio.Task[None]
    client: httpx.AsyncClient
    backend: StubBackend

    @property
    def feed(self) -> Feed:
        return feed_of(self.ctx.catalog, outcome_of)

    @property
    def hub(self) -> Hub:
        return self.ctx.hub

    def put(self, name: str, group: str = "Tools", **spec: Any) -> list[Change]:
        obj = app_object(name, group, **spec)
        exists = self.feed.exists(APPS, "default", name.lower())
        return self.feed.apply(APPS, "MODIFIED" if exists else "ADDED", obj)

    def remove(self, name: str) -> list[Change]:
        return self.feed.apply(APPS, "DELETED", app_object(name))

    def put_bookmark(self, name: str, group: str = "Links", **spec: Any) -> list[Change]:
        obj = bookmark_object(name, group, **spec)
        exists = self.feed.exists(BOOKMARKS, "default", name.lower())
        return self.feed.apply(BOOKMARKS, "MODIFIED" if exists else "ADDED", obj)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    @contextlib.asynccontextmanager
    async def stream(
        self, query: str = "", headers: Mapping[str, str | bytes] | None = None
    ) -> AsyncIterator[EventReader]:
        async with self.client.stream("GET", STREAM + query, headers=headers) as response:
            assert response.status_code == 200, response.status_code
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = EventReader(response)
            try:
                yield reader
            finally:
                await reader.close()

    async def stream_ready(self, clients: int) -> None:
        """Waits until the hub has `clients` subscriptions (a stream is registered)."""
        await eventually(lambda: self.hub.clients == clients, 5, what=f"{clients} stream(s)")


def settings_of(**sections: Any) -> Settings:
    """Settings from camelCase sections, as in the YAML file: settings_of(web={"title": "x"})."""
    return Settings.model_validate(sections)


@dataclass
class StubBackend:
    """The backend as a test sets it: ready when `is_ready()` says so, reporting `value`."""

    is_ready: Callable[[], bool] = lambda: True
    refreshing: Callable[[], Awaitable[None]] | None = None
    value: BackendStatus = field(default_factory=lambda: WatchStatus(watching=True, ready=True))

    def ready(self) -> bool:
        return self.is_ready()

    def status(self) -> BackendStatus:
        return self.value

    async def refresh(self) -> None:
        if self.refreshing is not None:
            await self.refreshing()


MakeSite = Callable[..., Awaitable[Site]]


@pytest.fixture
async def make_site() -> AsyncIterator[MakeSite]:
    sites: list[Site] = []

    async def make(
        settings: Settings | None = None,
        graceful: int = 5,
        ready: Callable[[], bool] | None = None,
        refresh: Callable[[], Awaitable[None]] | None = None,
        **context: Any,
    ) -> Site:
        settings = settings or Settings()
        catalog = Catalog()
        realtime = settings.realtime
        hub = Hub(
            catalog,
            replay=realtime.replay_buffer,
            client_queue=realtime.client_queue,
            max_clients=realtime.max_connections,
        )
        backend = StubBackend(is_ready=ready or (lambda: True), refreshing=refresh)
        ctx = WebContext(
            settings=settings,
            catalog=catalog,
            hub=hub,
            backend=backend,
            version="1.2.3",
            **context,
        )
        config = serving.config(
            create_app(ctx),
            settings.server,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=graceful,
        )
        server = serving.Server(config, hub)
        task = asyncio.create_task(server.serve(), name="uvicorn")
        await eventually(lambda: server.started or task.done(), 10, what="uvicorn to start")
        assert server.started, task
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        client = httpx.AsyncClient(
            base_url=url, timeout=httpx.Timeout(10.0, read=None), follow_redirects=False
        )
        site = Site(url, ctx, server, task, client, backend)
        sites.append(site)
        return site

    yield make
    for site in sites:
        await site.client.aclose()
        site.hub.close()
        site.server.should_exit = True
        async with asyncio.timeout(10):
            await site.task


@pytest.fixture
async def site(make_site: MakeSite) -> Site:
    return await make_site()
