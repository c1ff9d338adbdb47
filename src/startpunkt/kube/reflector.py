"""One reflector per resource type and namespace scope: LIST, then WATCH, forever.

The loop, and why each step is there:
- a paginated LIST fills the store and gives the resourceVersion to watch from;
- the WATCH asks for BOOKMARKs, so a quiet resource still advances its resume version and a
  reconnect after a long silence does not fall off the end of the server's history;
- a stream the server ends (its timeout) or the network drops resumes from the last version,
  after a backoff with full jitter, without listing again and without duplicates;
- 410 Gone (history compacted) lists again and diffs against the store, so objects deleted
  during the gap are reported as deleted;
- 403 is first retried with the normal backoff (a restarting API server answers 403 for a
  moment while its RBAC caches fill); only after a few in a row is the source called forbidden,
  logged once naming the missing permission, and retried slowly;
- a continue token that expires while a LIST is paged starts the listing over once, then lists
  in one request, as client-go does, so constant compaction cannot keep it from finishing;
- an API that is not installed (Istio, OpenShift, Gateway API) is checked again periodically,
  so installing it later starts the watch without a restart.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from startpunkt.backend import SourceStatus
from startpunkt.config import Watch as WatchSettings
from startpunkt.kube.api import TRANSIENT, Api, ApiError, JSONObject, collection_path
from startpunkt.kube.discovery import Discovery
from startpunkt.model import ResourceKind
from startpunkt.shapes.kube import watch_event
from startpunkt.shapes.status import ReflectorState
from startpunkt.store import Store, qualified

log = logging.getLogger(__name__)

# 403s in a row retried with the normal backoff before a source is called forbidden
FORBIDDEN_TRIES = 5
# listings started over after an expired continue token before one unpaginated LIST
CONTINUE_RESTARTS = 1


@dataclass(slots=True)
class ReflectorStatus:
    """Health of one reflector, read by /metrics, /api/sources and /readyz."""

    source: str
    label: str
    namespace: str | None
    cluster: str = ""  # the configured cluster name; "" in a single-cluster setup
    state: ReflectorState = ReflectorState.SYNCING
    api_version: str | None = None
    resource_version: str | None = None
    last_event: float | None = None
    last_error: str | None = None
    reconnects: int = 0
    relists: int = 0
    synced_once: bool = False
    events: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def scope(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"

    def snapshot(self) -> SourceStatus:
        """As it is now, for whoever reads it later."""
        return SourceStatus(
            source=self.source,
            kind=self.label,
            namespace=self.namespace,
            state=self.state,
            synced=self.synced_once,
            api_version=self.api_version,
            resource_version=self.resource_version,
            last_event=self.last_event,
            last_error=self.last_error,
            reconnects=self.reconnects,
            relists=self.relists,
            events=dict(self.events),
            cluster=self.cluster or None,
        )


class Backoff:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^n)]."""

    def __init__(self, base: float, cap: float, rng: Callable[[], float] = random.random) -> None:
        self._base, self._cap, self._rng = base, cap, rng
        self.attempt = 0

    def next(self) -> float:
        ceiling = min(self._cap, self._base * 2**self.attempt)
        self.attempt += 1
        return float(ceiling * self._rng())

    def reset(self) -> None:
        self.attempt = 0


class _Relist(Exception):
    """The resume version is gone: list again."""


class Reflector:
    def __init__(
        self,
        api: Api,
        discovery: Discovery,
        *,
        store: Store,
        source: str,
        kinds: tuple[ResourceKind, ...],
        namespace: str | None,
        settings: WatchSettings,
        field_selector: str | None = None,
        log_events: bool = True,
        cluster: tuple[str, str] = ("", ""),
    ) -> None:
        """`cluster`: the store's key for the cluster ("" for the local one) and its name."""
        self._api = api
        self._discovery = discovery
        self._store = store
        self._kinds = kinds
        self._settings = settings
        self._field_selector = field_selector
        self._log_events = log_events
        self._backoff = Backoff(settings.backoff.initial, settings.backoff.max)
        self.status = ReflectorStatus(source, kinds[0].label, namespace, cluster[1])
        self.store_source = qualified(cluster[0], source)
        self._kind: ResourceKind | None = None
        self._version: str | None = None  # where the next watch resumes; None: list first
        self._verb = "list"  # what the current request does, for permission errors
        self._forbidden_in_a_row = 0

    @property
    def name(self) -> str:
        other = self.store_source != self.status.source
        where = f" of cluster {self.status.cluster}" if other else ""
        return f"reflector {self.status.source} in {self.status.scope}{where}"

    async def run(self) -> None:
        """Reflects forever; only cancellation ends it."""
        status = self.status
        log.info("Starting watch for %s in %s", status.label, status.scope)
        while True:
            try:
                kind = await self._discover()
                if kind is None:
                    await self._discovery.next_check()  # one shared read for every absent API
                    continue
                if self._version is None:
                    await self._list(kind)
                await self._watch(kind)
            except _Relist:
                self._expired()
            except ApiError as e:
                await self._api_error(e)
            except TRANSIENT as e:
                await self._reconnect(f"{type(e).__name__} {e}".strip())

    async def list_once(self) -> None:
        """One LIST into the store, for running without watches. Failures keep the last data."""
        try:
            kind = await self._discover()
            if kind is not None:
                await self._list(kind)
        except ApiError as e:
            self.status.last_error = str(e)
            if e.status == 403:
                self.status.state = ReflectorState.FORBIDDEN
            log.error("Cannot list %s in %s: %s", self.status.label, self.status.scope, e)
        except TRANSIENT as e:
            self.status.last_error = f"{type(e).__name__} {e}".strip()
            log.error(
                "Cannot list %s in %s: %s",
                self.status.label,
                self.status.scope,
                self.status.last_error,
            )

    def _expired(self) -> None:
        status = self.status
        status.relists += 1
        self._version = None
        log.info("Resource version expired for %s in %s; listing again", status.label, status.scope)

    async def _discover(self) -> ResourceKind | None:
        if self._kind is not None:
            return self._kind
        kind = await self._discovery.resolve(self._kinds)
        status = self.status
        if kind is None:
            if status.state is not ReflectorState.ABSENT:
                log.info(
                    "%s API (%s) is not served by this cluster; checking again every %.0f s",
                    status.label,
                    " or ".join(k.api_version for k in self._kinds),
                    self._settings.absent_recheck,
                )
            status.state = ReflectorState.ABSENT
            # an API that disappeared takes its objects with it
            self._store.replace(self.store_source, [], namespace=status.namespace)
            return None
        self._kind = kind
        status.api_version = kind.api_version
        return kind

    def _params(self, **extra: str | int) -> dict[str, str | int]:
        params: dict[str, str | int] = dict(extra)
        if self._field_selector:
            params["fieldSelector"] = self._field_selector
        return params

    async def _list(self, kind: ResourceKind) -> None:
        self._verb = "list"
        path = collection_path(kind, self.status.namespace)
        items: list[JSONObject] = []
        token: str | None = None
        restarts = 0
        while True:
            paged = restarts <= CONTINUE_RESTARTS
            params = self._params(limit=self._settings.page_size) if paged else self._params()
            if token:
                params["continue"] = token
            try:
                page = await self._api.get(path, params)
            except ApiError as e:
                if e.gone and token:  # the continue token expired: start the listing over
                    restarts += 1
                    log.info(
                        "The listing of %s in %s expired before its last page; listing again%s",
                        self.status.label,
                        self.status.scope,
                        "" if restarts <= CONTINUE_RESTARTS else " in one request",
                    )
                    items, token = [], None
                    continue
                e.message = e.message or f"list {kind.resource}"
                raise
            for item in page.get("items") or ():
                if isinstance(item, dict):
                    # list items carry no kind; the store and mappers want whole objects
                    item.setdefault("apiVersion", kind.api_version)
                    item.setdefault("kind", kind.kind)
                    items.append(item)
            meta = page.get("metadata") or {}
            token = (meta.get("continue") or None) if paged else None
            if not token:
                version = str(meta.get("resourceVersion") or "")
                break
        status = self.status
        self._store.replace(
            self.store_source, items, namespace=status.namespace, quiet=not status.synced_once
        )
        status.resource_version = self._version = version
        # the store now matches the server: this source is synced
        self._mark_synced()

    async def _watch(self, kind: ResourceKind) -> None:
        """One watch request, until the server ends it (its timeout) or it fails."""
        status = self.status
        assert self._version is not None
        params = self._params(
            watch=1,
            resourceVersion=self._version,
            allowWatchBookmarks="true",
            # a little jitter keeps many reflectors from reconnecting in lockstep
            timeoutSeconds=max(1, round(self._settings.timeout * random.uniform(0.9, 1.0))),
        )
        path = collection_path(kind, status.namespace)
        self._verb = "watch"
        opened_at = time.monotonic()
        received = 0
        async for event in self._api.watch(
            path, params, self._settings.inactivity_timeout, opened=self._mark_synced
        ):
            received += 1
            self._handle(event)
        if not received and time.monotonic() - opened_at < 1.0:
            # a server that ends every watch at once must not be asked again in a hot loop
            await self._reconnect("watch ended immediately")

    def _mark_synced(self) -> None:
        status = self.status
        if not status.synced_once:
            log.info("Successfully started watch for %s", status.label)
        if status.state is ReflectorState.SYNCED:
            return
        if status.state is ReflectorState.RECONNECTING:
            log.info("Watch for %s in %s resumed", status.label, status.scope)
        status.synced_once = True
        status.state = ReflectorState.SYNCED
        status.last_error = None
        self._backoff.reset()
        self._forbidden_in_a_row = 0

    def _handle(self, line: JSONObject) -> None:
        status = self.status
        event = watch_event(line)
        if event is None:
            return
        kind, obj = event["type"], event["object"]
        status.events[kind] += 1
        status.last_event = time.time()
        if kind == "ERROR":
            error = ApiError.from_status(obj)
            if error.gone:
                raise _Relist
            raise error
        meta = obj.get("metadata") or {}
        if version := meta.get("resourceVersion"):
            status.resource_version = self._version = str(version)
        if kind == "BOOKMARK":
            return  # only the version moves
        if self._log_events:
            log.info(
                "%s %s: %s/%s", status.label, kind, meta.get("namespace", ""), meta.get("name", "")
            )
        self._store.apply(self.store_source, kind, obj)

    async def _api_error(self, error: ApiError) -> None:
        status = self.status
        if error.gone:
            self._expired()
            return
        if error.status == 403:
            self._forbidden_in_a_row += 1
            if (
                self._forbidden_in_a_row <= FORBIDDEN_TRIES
                and status.state is not ReflectorState.FORBIDDEN
            ):
                # perhaps an API server that is starting and has not read its RBAC rules yet
                await self._reconnect(f"{error} (trying again; the API server may be starting)")
                return
            if status.state is not ReflectorState.FORBIDDEN:
                log.error(
                    "Forbidden: cannot %s %s in %s. Grant get, list and watch on %s "
                    "in API group %r to Startpunkt's service account. Retrying every %.0f s. "
                    "(%s)",
                    self._verb,
                    self._resource(),
                    status.scope,
                    self._resource().split(".", 1)[0],
                    self._kind.group if self._kind else self._kinds[0].group,
                    self._settings.forbidden_retry,
                    error.message,
                )
            status.state = ReflectorState.FORBIDDEN
            status.last_error = str(error)
            await asyncio.sleep(self._settings.forbidden_retry)
            return
        if error.status == 404:
            # the resource type went away (CRD deleted); check discovery again
            self._kind = None
            self._discovery.forget()
            await self._reconnect(str(error))
            return
        await self._reconnect(str(error), error.retry_after if error.status == 429 else None)

    def _resource(self) -> str:
        return (self._kind or self._kinds[0]).resource

    async def _reconnect(self, reason: str, retry_after: float | None = None) -> None:
        status = self.status
        status.reconnects += 1
        status.last_error = reason
        if status.synced_once:
            status.state = ReflectorState.RECONNECTING
        delay = retry_after if retry_after is not None else self._backoff.next()
        log.warning("Watch closed for %s with error: %s", status.label, reason)
        log.info(
            "Reconnecting watch for %s in %s in %.2f s (attempt %d)",
            status.label,
            status.scope,
            delay,
            self._backoff.attempt,
        )
        await asyncio.sleep(delay)
