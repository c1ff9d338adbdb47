"""A Startpunkt web app on a real port, fed directly through its Store.

Used by the browser tests, the server-side page tests and `docs/screenshots.py`. The store gets
simple Application/Bookmark dicts (the shape of the custom resources) through a small mapper, so
these tests exercise the web layer alone; the end-to-end test feeds the real sources instead.

`LiveServer` runs uvicorn on its own event loop in a thread. The store belongs to that loop (it is
single-threaded by design), so every change from a test goes through `LiveServer.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette

from startpunkt.config import Settings
from startpunkt.events import Hub
from startpunkt.model import (
    Application,
    Availability,
    Bookmark,
    ObjectRef,
    Outcome,
    State,
)
from startpunkt.store import ProbeTarget, Store, probe_target
from startpunkt.web import serving
from startpunkt.web.context import WebContext

T = TypeVar("T")

APPS = "startpunkt-application"
BOOKMARKS = "startpunkt-bookmark"
API_VERSION = "startpunkt.ullberg.us/v1alpha4"


def app_object(
    name: str,
    group: str,
    url: str | None,
    *,
    resource: str | None = None,
    namespace: str = "default",
    **spec: Any,
) -> dict[str, Any]:
    """An Application custom resource as a dict: spec keys as in the CRD (iconColor, info...)."""
    body = {"name": name, "group": group, **spec}
    if url is not None:
        body["url"] = url
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": resource or slug(name), "namespace": namespace},
        "spec": body,
    }


def bookmark_object(
    name: str, group: str, url: str, *, resource: str | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Bookmark",
        "metadata": {"name": resource or slug(name), "namespace": "default"},
        "spec": {"name": name, "group": group, "url": url, **spec},
    }


def slug(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return cleaned or "x"


def _tags(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(t.strip() for t in raw.split(",") if t.strip())
    if isinstance(raw, list | tuple):
        return tuple(str(t).strip() for t in raw if str(t).strip())
    return ()


def mapper(source: str, obj: Mapping[str, Any]) -> Outcome | None:
    """Application/Bookmark dicts -> Outcome; deliberately simple and lenient."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    namespace, resource = str(meta.get("namespace", "")), str(meta.get("name", ""))
    kind = "Bookmark" if source == BOOKMARKS else "Application"
    ref = ObjectRef(kind, namespace, resource)
    if not spec.get("name"):
        return Outcome.rejected(ref, "spec.name is missing")
    common = {
        "key": f"{source}/{namespace}/{resource}",
        "name": str(spec["name"]),
        "group": str(spec.get("group") or "default"),
        "source": source,
        "namespace": namespace,
        "resource_name": resource,
        "icon": spec.get("icon"),
        "info": spec.get("info"),
        "location": int(spec.get("location") or 0),
    }
    if source == BOOKMARKS:
        return Outcome.shown(
            ref,
            Bookmark(url=str(spec.get("url", "")), target_blank=spec.get("targetBlank"), **common),
        )
    app = Application(
        url=spec.get("url"),
        icon_color=spec.get("iconColor"),
        target_blank=bool(spec.get("targetBlank", False)),
        tags=_tags(spec.get("tags")),
        **common,
    )
    if spec.get("enabled") is False:
        return Outcome.hidden(ref, "spec.enabled is false", app)
    return Outcome.shown(ref, app)


# -- the example set -------------------------------------------------------------------------

EXAMPLE_APPS: tuple[dict[str, Any], ...] = (
    app_object(
        "Grafana",
        "Monitoring",
        "https://grafana.example.com",
        icon="si:grafana",
        iconColor="#F46800",
        info="Dashboards for every cluster",
        tags="admin,ops",
    ),
    app_object(
        "Prometheus",
        "Monitoring",
        "https://prometheus.example.com",
        icon="simple-icons:prometheus",
        iconColor="#E6522C",
        info="Metrics and alerting",
        tags="admin,ops",
    ),
    app_object(
        "Alertmanager",
        "Monitoring",
        "https://alerts.example.com",
        icon="mdi:bell-alert",
        info="Silences and routing",
        tags="ops",
    ),
    app_object(
        "Uptime Kuma",
        "Monitoring",
        "https://status.example.com",
        icon="si:uptimekuma",
        iconColor="#5CDD8B",
        info="Status page",
    ),
    app_object(
        "Jellyfin",
        "Media",
        "https://jellyfin.example.com",
        icon="si:jellyfin",
        iconColor="#00A4DC",
        info="Movies, shows and music",
        tags="media",
        targetBlank=True,
    ),
    app_object(
        "Sonarr",
        "Media",
        "https://sonarr.example.com",
        icon="mdi:television-classic",
        iconColor="#35C5F4",
        info="TV series",
        tags="media",
    ),
    app_object(
        "Radarr",
        "Media",
        "https://radarr.example.com",
        icon="mdi:filmstrip",
        iconColor="#FFC230",
        info="Movies",
        tags="media",
    ),
    app_object(
        "Home Assistant",
        "Home",
        "https://home.example.com",
        icon="si:homeassistant",
        iconColor="#18BCF2",
        info="Lights, heating and the door bell",
    ),
    app_object(
        "Nextcloud",
        "Home",
        "https://cloud.example.com",
        icon="si:nextcloud",
        iconColor="#0082C9",
        info="Files and calendars",
    ),
    app_object(
        "Vaultwarden",
        "Home",
        "https://vault.example.com",
        icon="si:bitwarden",
        iconColor="#175DDC",
        info="Passwords",
    ),
    app_object(
        "Paperless",
        "Home",
        "https://paperless.example.com",
        icon="si:paperlessngx",
        iconColor="#17541F",
        info="Scanned documents, searchable",
    ),
    app_object(
        "Argo CD",
        "Platform",
        "https://argocd.example.com",
        icon="si:argo",
        iconColor="#EF7B4D",
        info="GitOps deployments",
        tags="admin,dev",
        location=1,
    ),
    app_object(
        "Gitea",
        "Platform",
        "https://git.example.com",
        icon="si:gitea",
        iconColor="#609926",
        info="Source code",
        tags="dev",
    ),
    app_object(
        "Harbor",
        "Platform",
        "https://harbor.example.com",
        icon="mdi:ferry",
        info="Container registry",
        tags="dev",
    ),
    app_object(
        "Longhorn",
        "Platform",
        "https://longhorn.example.com",
        icon="mdi:cow",
        info="Block storage",
        tags="admin",
    ),
    app_object(
        "Kubernetes Dashboard",
        "Platform",
        "https://k8s.example.com",
        icon="si:kubernetes",
        iconColor="#326CE5",
        info="Workloads at a glance",
        tags="admin",
    ),
    app_object(
        "CyberChef",
        "Utilities",
        "https://cyberchef.example.com",
        icon="mdi:chef-hat",
        info="The Cyber Swiss Army Knife",
        tags="dev",
    ),
    app_object("Excalidraw", "Utilities", "https://draw.example.com", info="Whiteboard sketches"),
    app_object(
        "IT Tools",
        "Utilities",
        "https://tools.example.com",
        icon="mdi:tools",
        info="Handy converters and generators",
    ),
)

EXAMPLE_BOOKMARKS: tuple[dict[str, Any], ...] = (
    bookmark_object(
        "Kubernetes docs",
        "Documentation",
        "https://kubernetes.io/docs/",
        icon="si:kubernetes",
        info="Concepts, tasks and reference",
    ),
    bookmark_object(
        "Startpunkt",
        "Documentation",
        "https://github.com/ullbergm/startpunkt",
        icon="si:github",
        info="Start page docs",
    ),
    bookmark_object(
        "r/selfhosted",
        "Community",
        "https://www.reddit.com/r/selfhosted/",
        icon="si:reddit",
        targetBlank=True,
    ),
    bookmark_object("CNCF Slack", "Community", "https://slack.cncf.io/", icon="si:slack"),
)

EXAMPLE_STATES: Mapping[str, State] = {
    "Prometheus": State.DOWN,
    "Radarr": State.DEGRADED,
    "Paperless": State.SCALED_TO_ZERO,
    "IT Tools": State.UNKNOWN,
    "Excalidraw": State.UNKNOWN,
}


def availability(state: State) -> Availability:
    if state is State.UNKNOWN:
        return Availability()
    code = {State.UP: 200, State.DEGRADED: 200, State.DOWN: 503}.get(state)
    return Availability(state, code, 42.0 if code else None, time.time())


def load(
    store: Store,
    apps: Sequence[Mapping[str, Any]] = EXAMPLE_APPS,
    bookmarks: Sequence[Mapping[str, Any]] = EXAMPLE_BOOKMARKS,
    states: Mapping[str, State] | None = None,
) -> None:
    """Fills a store; every app is up unless `states` (by display name) says otherwise."""
    states = EXAMPLE_STATES if states is None else states
    store.replace(APPS, apps)
    store.replace(BOOKMARKS, bookmarks)
    for app in store.snapshot().applications:
        target = probe_target(app)
        state = states.get(app.name, State.UP)
        if target is not None and state is not State.UNKNOWN:
            store.set_availability(target, availability(state))


def target_of(store: Store, name: str) -> ProbeTarget:
    for app in store.snapshot().applications:
        if app.name == name and (target := probe_target(app)) is not None:
            return target
    raise LookupError(name)


def make_context(settings: Settings | None = None, **overrides: Any) -> WebContext:
    store = Store(mapper)
    settings = settings or Settings()
    return WebContext(
        settings=settings,
        store=store,
        hub=Hub(store, replay=settings.realtime.replay_buffer),
        version=overrides.pop("version", "0.1.0-test"),
        **overrides,
    )


def create_app(ctx: WebContext) -> Starlette:
    from startpunkt.web.app import create_app as create  # noqa: PLC0415

    return create(ctx)


# -- the server ----------------------------------------------------------------------------------


@dataclass
class LiveServer:
    ctx: WebContext
    url: str
    _loop: asyncio.AbstractEventLoop
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def store(self) -> Store:
        return self.ctx.store

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Runs `fn(*args)` on the server's event loop (where the store lives)."""

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.ctx.hub.close, timeout=5)
        self._server.should_exit = True
        self._thread.join(timeout=15)


@contextlib.contextmanager
def serve(ctx: WebContext, app: Starlette | None = None) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and a free port, for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = serving.config(
        app or create_app(ctx),
        ctx.settings.server,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = serving.Server(config, ctx.hub)
    ready = threading.Event()
    box: dict[str, asyncio.AbstractEventLoop] = {}

    async def main() -> None:
        box["loop"] = asyncio.get_running_loop()
        ready.set()
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="live-server", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the live server's loop did not start")
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    live = LiveServer(ctx, f"http://127.0.0.1:{port}", box["loop"], server, thread)
    try:
        yield live
    finally:
        live.stop()
        sock.close()


@contextlib.asynccontextmanager
async def in_process(ctx: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process (no socket), for server-side page tests."""
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://startpunkt.test") as client:
        yield client
