"""Wires the process together. One TaskGroup owns every long-running task: the HTTP server,
the reflectors (or the manifests poller), and the availability checker. If any of them fails,
all stop and the process exits, so a pod never serves a store that silently stopped changing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from startpunkt import __version__
from startpunkt.aio import forever
from startpunkt.backend import Backend, BackendStatus, ManifestsStatus, WatchStatus
from startpunkt.catalog import Catalog
from startpunkt.checking import Checker
from startpunkt.clusters import STALE_AFTER, Clusters, ClusterState, ClusterStatus
from startpunkt.config import Settings
from startpunkt.events import Event, Hub
from startpunkt.kube.api import Api
from startpunkt.kube.clusters import SUPERVISE_INTERVAL, direct_clusters, statuses_of, supervise
from startpunkt.kube.connection import Connection
from startpunkt.kube.leading import LeaderElector, Work, identity
from startpunkt.kube.listing import Lister
from startpunkt.kube.metrics import ClusterCollector, WatchCollector
from startpunkt.kube.replicas import LeaderCollector, Replicas, field_manager
from startpunkt.kube.reporting import StatusReporter
from startpunkt.kube.supervising import Watchers
from startpunkt.manifests import ManifestsDirectory
from startpunkt.model import Outcome
from startpunkt.objects import ObjectCache
from startpunkt.reloading import ConfigFollower
from startpunkt.remote import remote_followers
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import SOURCES, map_object
from startpunkt.sources import remote as remote_source
from startpunkt.sources.base import MappingContext
from startpunkt.store import Store, split_source
from startpunkt.web import serving
from startpunkt.web.app import create_app, create_operator_app
from startpunkt.web.context import WebContext

log = logging.getLogger(__name__)

# Bounds a shutdown with open event streams: they are closed first, so this is a safety net.
GRACEFUL_SHUTDOWN_SECONDS = 3


@dataclass(frozen=True, slots=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    manifests: Path | None = None
    connection: Connection | None = None
    config_path: Path | None = None  # followed while running, when given
    # Homepage's {{HOMEPAGE_VAR_*}} / {{HOMEPAGE_FILE_*}} values, read once at start-up
    substitutions: Mapping[str, str] = field(default_factory=dict)


class _Stopped(Exception):
    """The HTTP server has finished: time for everything else to stop too."""


class SourceMapper:
    """Maps stored objects with every source's mapper; mappings look up the objects they refer
    to (urlFrom targets, Gateways) in the object cache, in the object's own cluster. Every
    outcome is stamped with its cluster (`clusters.Clusters.stamp`)."""

    def __init__(
        self,
        settings: Settings,
        objects: ObjectCache | None = None,
        substitutions: Mapping[str, str] | None = None,
        clusters: Clusters | None = None,
    ) -> None:
        self._by_name = {source.name: source for source in SOURCES}
        self._settings = settings
        self._objects = objects
        self._values = dict(substitutions or {})
        self._contexts: dict[str, MappingContext] = {}
        self.clusters = clusters or Clusters(settings.clusters.local.name)

    def _context(self, cluster: str) -> MappingContext:
        if (context := self._contexts.get(cluster)) is None:
            objects = self._objects
            context = (
                MappingContext(self._settings, lambda ref: objects.find(ref, cluster), self._values)
                if objects is not None
                else MappingContext(self._settings, substitutions=self._values)
            )
            self._contexts[cluster] = context
        return context

    def __call__(self, source: str, obj: KubeObject) -> Outcome | None:
        cluster, name = split_source(source)
        if name == remote_source.SOURCE:
            outcome: Outcome | None = remote_source.map_remote(obj)
        elif found := self._by_name.get(name):
            outcome = map_object(found, obj, self._context(cluster))
        else:
            outcome = None
        return self.clusters.stamp(outcome, cluster) if outcome is not None else None


def revision_base() -> int:
    """A first revision above any an earlier process or another replica could have reached
    (milliseconds since the epoch, times 1,000): a page that resumes its event stream against
    a restarted or different process then gets RESYNC, never someone else's events. It stays
    below 2**53, so browsers keep it exact."""
    return time.time_ns() // 1_000_000 * 1000


def build_store(
    settings: Settings,
    first_revision: int = 0,
    substitutions: Mapping[str, str] | None = None,
    clusters: Clusters | None = None,
) -> Store:
    precedence = {s.name: i for i, s in enumerate(SOURCES)}
    clusters = clusters or Clusters(settings.clusters.local.name)
    objects = ObjectCache()
    store = Store(
        SourceMapper(settings, objects, substitutions, clusters),
        objects=objects,
        catalog=Catalog(precedence=precedence, first_revision=first_revision),
    )
    # a cluster turning stale or coming back changes how its items are stamped
    clusters.listeners.append(store.remap_cluster)
    return store


class _Swappable:
    """The ASGI app uvicorn serves; swapped whole when the configuration is reloaded, so the
    web layer can treat its settings as fixed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """Binds before anything else starts, so a busy port is a clear error, not a crash."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@dataclass(slots=True)
class _Backend:
    """Where objects come from: the manifests directory, or the cluster (watched or listed)."""

    tasks: list[tuple[str, Coroutine[Any, Any, None]]]
    client: httpx.AsyncClient | None = None
    watchers: Watchers | None = None
    api: Api | None = None
    # what only one replica should do (write .status, probe), when several run
    leader_work: list[tuple[str, Work]] = field(default_factory=list)
    # the local cluster's reflectors' health, for the metrics
    statuses: Callable[[], list[Any]] = list


def _backend(options: Options, settings: Settings, *, store: Store, ctx: WebContext) -> _Backend:
    if options.manifests is not None:
        manifests = ManifestsDirectory(options.manifests, store, settings=settings)
        manifests.load()
        ctx.backend = manifests
        return _Backend([("manifests poller", forever(manifests.run()))])

    if options.connection is None:  # clusters.local.enabled: false, and no connection at all
        ctx.backend = _NoLocal(settings.watch.enabled)
        return _Backend([])
    connection = options.connection
    log.info("Connecting to %s at %s", connection.description, connection.server)
    client = connection.client(httpx.Timeout(30.0, connect=10.0))
    api = Api(client)
    if not settings.clusters.local.enabled:
        return _local_disabled(settings, client, api, ctx)
    if settings.watch.enabled:
        watchers = Watchers(api, store, settings, ("", settings.clusters.local.name))
        ctx.backend = watchers
        work: list[tuple[str, Work]] = []
        if settings.status.enabled:
            reporter = StatusReporter(
                api, store, settings=settings, field_manager=field_manager(identity())
            )
            work.append(("status reporter", reporter.run))
        return _Backend([], client, watchers, api, work, watchers.statuses)

    lister = Lister(api, store, settings)
    ctx.backend = lister
    return _Backend(
        [("first listing", lister.refresh())],
        client,
        api=api,
        statuses=lambda: [r.status for r in lister.reflectors],
    )


def _local_disabled(
    settings: Settings, client: httpx.AsyncClient, api: Api, ctx: WebContext
) -> _Backend:
    """`clusters.local.enabled: false`: the connection serves only leader election and the
    Secrets other clusters' kubeconfigs are read from."""
    log.info("clusters.local.enabled is false: the local cluster's objects are not shown")
    ctx.backend = _NoLocal(settings.watch.enabled)
    return _Backend([], client, api=api)


class _NoLocal:
    """No local cluster: ready once another cluster is (`_more_clusters`)."""

    def __init__(self, watching: bool) -> None:
        self._watching = watching

    def ready(self) -> bool:
        return False

    def status(self) -> BackendStatus:
        return WatchStatus(watching=self._watching, ready=False)

    async def refresh(self) -> None:
        return None


def _more_clusters(
    settings: Settings,
    options: Options,
    clusters: Clusters,
    backend: _Backend,
    ctx: WebContext,
    store: Store,
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The local cluster's state, the other clusters watched directly and the followed
    Startpunkt instances; ready while any cluster is in sync."""
    tasks: list[tuple[str, Coroutine[Any, Any, None]]] = []
    if settings.clusters.local.enabled:
        # published by /api/sources: an API server's address, never a file system path
        where = options.connection.server if options.connection else "manifests directory"
        local = clusters.add(ClusterStatus(settings.clusters.local.name, "local", where))
        if backend.watchers is not None:
            tasks.append(("local cluster", forever(supervise(backend.watchers, clusters, ""))))
        else:
            tasks.append(("local cluster", forever(_follow_ready(ctx, clusters, local.key))))
    direct = direct_clusters(settings, store, clusters, backend.api)
    tasks += [(c.name, forever(c.run())) for c in direct]
    remotes = remote_followers(settings, store, clusters)
    tasks += [(r.name, forever(r.run())) for r in remotes]
    others = statuses_of(direct)
    local_statuses = backend.statuses
    ctx.registry.register(WatchCollector(lambda: [*local_statuses(), *others()]))
    ctx.registry.register(ClusterCollector(clusters.statuses))
    ctx.backend = _WithClusters(ctx.backend, clusters, others)
    return tasks


class _WithClusters:
    """The local backend, ready while any cluster is in sync, its status with every other
    cluster's reflectors and every cluster's state."""

    def __init__(self, local: Backend, clusters: Clusters, others: Callable[[], list[Any]]) -> None:
        self._local, self._clusters, self._others = local, clusters, others

    def ready(self) -> bool:
        return self._local.ready() or self._clusters.ready()

    def status(self) -> BackendStatus:
        status = self._local.status()
        others = tuple(s.snapshot() for s in self._others())
        every = tuple(self._clusters.statuses())
        if isinstance(status, ManifestsStatus):
            return replace(status, ready=self.ready(), sources=others, clusters=every)
        sources = (*status.sources, *others)
        return replace(status, ready=self.ready(), sources=sources, clusters=every)

    async def refresh(self) -> None:
        await self._local.refresh()


async def _follow_ready(ctx: WebContext, clusters: Clusters, key: str) -> None:
    """The local cluster's state where no reflectors run (manifests, watching off)."""
    while True:
        clusters.report(key, ClusterState.SYNCED if ctx.backend.ready() else ClusterState.SYNCING)
        await asyncio.sleep(SUPERVISE_INTERVAL)


def _follower(
    options: Options, ctx: WebContext, app: _Swappable, store: Store
) -> ConfigFollower | None:
    if options.config_path is None:
        return None

    def apply(applied: Settings, changed: list[str]) -> None:
        ctx.settings = applied
        previous = store.mapper
        clusters = previous.clusters if isinstance(previous, SourceMapper) else None
        store.remap_all(SourceMapper(applied, store.objects, options.substitutions, clusters))
        app.app = create_app(ctx)
        ctx.hub.publish(Event.build("CONFIG_CHANGED", {"changed": changed}))

    return ConfigFollower(options.config_path, ctx.settings, apply=apply)


async def serve(
    settings: Settings,
    options: Options,
    sock: socket.socket,
    operator_sock: socket.socket | None = None,
) -> None:
    clusters = Clusters(settings.clusters.local.name, STALE_AFTER)
    store = build_store(settings, revision_base(), options.substitutions, clusters)
    realtime = settings.realtime
    hub = Hub(
        store.catalog,
        replay=realtime.replay_buffer,
        client_queue=realtime.client_queue,
        max_clients=realtime.max_connections,
    )
    ctx = WebContext(settings=settings, catalog=store.catalog, hub=hub, version=__version__)
    backend = _backend(options, settings, store=store, ctx=ctx)
    tasks = list(backend.tasks)
    tasks += _more_clusters(settings, options, clusters, backend, ctx, store)
    leader_work = list(backend.leader_work)
    if settings.availability.enabled:
        checker = Checker(settings, store, registry=ctx.registry)
        leader_work.append(("availability checker", checker.run))
    tasks += _leadership(settings, options, backend=backend, ctx=ctx, work=leader_work, store=store)
    app = _Swappable(create_app(ctx))
    if follower := _follower(options, ctx, app, store):
        tasks.append(("configuration follower", forever(follower.run())))

    config = serving.config(
        app,
        settings.server,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="off",
        # with access configured the peer address decides whose identity headers are believed;
        # uvicorn would replace it with the X-Forwarded-For of a proxy on 127.0.0.1
        proxy_headers=not settings.access.enabled,
    )
    server = serving.Server(config, hub)
    host, port = sock.getsockname()[:2]
    try:
        async with asyncio.TaskGroup() as group:
            if backend.watchers is not None:
                backend.watchers.start(group)
            for name, work in tasks:
                group.create_task(work, name=name)
            group.create_task(_serve(server, sock, backend.watchers), name="http server")
            if operator_sock is not None:
                group.create_task(_operator(ctx, operator_sock), name="operator http server")
            log.info("Startpunkt %s is serving http://%s:%d/", __version__, _display(host), port)
    except* _Stopped:
        pass
    finally:
        hub.close()
        if backend.client is not None:
            await backend.client.aclose()
        if backend.watchers is not None:
            backend.watchers.stopped()


def _leadership(
    settings: Settings,
    options: Options,
    *,
    backend: _Backend,
    ctx: WebContext,
    work: list[tuple[str, Work]],
    store: Store,
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The work only one replica should do: here, or wherever the Lease holder is."""
    api, connection = backend.api, options.connection
    alone = not work or api is None or connection is None or not settings.leader_election.enabled
    if not alone and not settings.watch.enabled:
        log.info("Leader election needs watch.enabled; this replica probes and writes by itself")
        alone = True
    if alone or api is None or connection is None:
        ctx.registry.register(LeaderCollector(lambda: True))
        return [(name, forever(factory())) for name, factory in work]
    replicas = Replicas(
        api,
        store,
        settings=settings,
        fallback_namespace=connection.namespace,
        work=work,
        ready=ctx.backend.ready,
    )
    elector = replicas.elector
    ctx.registry.register(LeaderCollector(lambda: elector.leading))
    ctx.backend = _Elected(ctx.backend, elector)
    return replicas.tasks()


def bind_operator(settings: Settings, host: str) -> socket.socket | None:
    """The operator port's socket, with `access.operatorEndpoints: port`."""
    if settings.access.operator_endpoints != "port":
        return None
    return bind(host, settings.access.operator_port)


class _OperatorServer(uvicorn.Server):
    """The operator port's server; signals are the main server's business."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _operator(ctx: WebContext, sock: socket.socket) -> None:
    config = serving.config(
        create_operator_app(ctx),
        ctx.settings.server,
        log_config=None,
        access_log=False,
        lifespan="off",
        proxy_headers=False,
    )
    host, port = sock.getsockname()[:2]
    log.info("Operator endpoints are served on http://%s:%d/metrics", _display(host), port)
    await forever(_OperatorServer(config).serve(sockets=[sock]))


class _Elected:
    """A backend whose status also says who leads."""

    def __init__(self, backend: Backend, elector: LeaderElector) -> None:
        self._backend, self._elector = backend, elector

    def ready(self) -> bool:
        return self._backend.ready()

    def status(self) -> BackendStatus:
        status = self._backend.status()
        if isinstance(status, WatchStatus):
            return replace(status, leader_election=self._elector.status())
        return status

    async def refresh(self) -> None:
        await self._backend.refresh()


def _display(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)


async def _serve(server: serving.Server, sock: socket.socket, watchers: Watchers | None) -> None:
    await server.serve(sockets=[sock])
    if watchers is not None:
        watchers.stopping()
    raise _Stopped
