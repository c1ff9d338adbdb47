"""Runs the reflectors: one per enabled source and namespace scope, plus the objects mappings
refer to (urlFrom targets, Gateways, EndpointSlices), all as tasks of the runtime's TaskGroup."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from startpunkt.aio import forever
from startpunkt.backend import WatchStatus
from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.discovery import Discovery
from startpunkt.kube.reflector import Reflector
from startpunkt.model import Reference, ResourceKind
from startpunkt.shapes.status import ReflectorState
from startpunkt.sources import (
    ENDPOINTSLICE_KINDS,
    ENDPOINTSLICE_SOURCE,
    GATEWAY_KINDS,
    GATEWAY_SOURCE,
    SOURCES,
)
from startpunkt.store import Notice, ReferencesChanged, Store

log = logging.getLogger(__name__)

REFERENCE_PREFIX = "ref:"


@dataclass(frozen=True, slots=True)
class Plan:
    """One reflector to run: what it reads and where."""

    source: str
    kinds: tuple[ResourceKind, ...]
    namespace: str | None
    dependency: bool = False  # read for other objects' sake, not shown itself


def namespaces(settings: Settings) -> list[str | None]:
    """`any: true` is one cluster-wide scope; otherwise one scope per listed namespace, so a
    namespaced Role is enough."""
    selector = settings.namespace_selector
    if selector.any:
        return [None]
    return list(dict.fromkeys(selector.match_names))


def plans(settings: Settings) -> list[Plan]:
    scopes = namespaces(settings)
    result = [
        Plan(source.name, source.kinds, ns)
        for source in SOURCES
        if source.enabled(settings)
        for ns in scopes
    ]
    enabled = {p.source for p in result}
    if "httproute" in enabled:
        result += [Plan(GATEWAY_SOURCE, GATEWAY_KINDS, ns, dependency=True) for ns in scopes]
    if settings.availability.enabled and enabled & {"ingress", "httproute"}:
        result += [
            Plan(ENDPOINTSLICE_SOURCE, ENDPOINTSLICE_KINDS, ns, dependency=True) for ns in scopes
        ]
    return result


def reference_source(ref: Reference) -> str:
    return f"{REFERENCE_PREFIX}{ref}"


class Watchers:
    """Owns the reflectors; their tasks live in the caller's TaskGroup."""

    def __init__(
        self, api: Api, store: Store, settings: Settings, cluster: tuple[str, str] = ("", "")
    ) -> None:
        """`cluster`: the store's key for the cluster ("" for the local one) and its name."""
        self._api = api
        self._cluster = cluster
        self._store = store
        self._settings = settings
        self._discovery = Discovery(api, ttl=settings.watch.absent_recheck)
        self.reflectors: list[Reflector] = []
        self._references: dict[Reference, tuple[Reflector, asyncio.Task[None]]] = {}
        self._references_changed = asyncio.Event()
        self._unsubscribe = store.subscribe(self._on_notice)

    def _on_notice(self, notice: Notice) -> None:
        if isinstance(notice, ReferencesChanged):
            self._references_changed.set()

    def _reflector(self, plan: Plan, field_selector: str | None = None) -> Reflector:
        return Reflector(
            self._api,
            self._discovery,
            store=self._store,
            source=plan.source,
            kinds=plan.kinds,
            namespace=plan.namespace,
            settings=self._settings.watch,
            field_selector=field_selector,
            log_events=not plan.dependency,
            cluster=self._cluster,
        )

    def start(self, group: asyncio.TaskGroup) -> None:
        of = f" of cluster {self._cluster[1]}" if self._cluster[0] else ""
        log.info("Starting Kubernetes resource watchers%s", of)
        all_plans = plans(self._settings)
        if not namespaces(self._settings):
            log.warning(
                "namespaceSelector.any is false and matchNames is empty: nothing to watch. "
                "List namespaces in startpunkt.namespaceSelector.matchNames"
            )
        for plan in all_plans:
            reflector = self._reflector(plan)
            self.reflectors.append(reflector)
            group.create_task(forever(reflector.run()), name=reflector.name)
        group.create_task(forever(self._follow_references(group)), name="reference watcher")
        log.info(
            "Started %d Kubernetes resource watchers%s",
            sum(1 for p in all_plans if not p.dependency),
            of,
        )

    async def _follow_references(self, group: asyncio.TaskGroup) -> None:
        """Keeps one narrow reflector per object a mapping refers to (urlFrom targets)."""
        while True:
            await self._references_changed.wait()
            self._references_changed.clear()
            wanted = {
                ref
                for ref in self._store.objects.references(self._cluster[0])
                if ref.kind != "Gateway"
            }  # Gateways are watched whole
            for ref in [r for r in self._references if r not in wanted]:
                reflector, task = self._references.pop(ref)
                task.cancel()
                self._store.replace(reflector.store_source, [])
            for ref in wanted - self._references.keys():
                follower = await self._reference_reflector(ref)
                if follower is None:
                    continue
                task = group.create_task(follower.run(), name=follower.name)
                self._references[ref] = (follower, task)

    async def _reference_reflector(self, ref: Reference) -> Reflector | None:
        try:
            kind = await self._discovery.find_kind(ref.api_version, ref.kind)
        except Exception as e:  # discovery trouble must not stop reference tracking
            log.warning("Cannot resolve %s for urlFrom: %s", ref, e)
            return None
        if kind is None:
            log.warning("urlFrom refers to %s, which this cluster does not serve", ref)
            return None
        namespace = ref.namespace if kind.namespaced else None
        plan = Plan(reference_source(ref), (kind,), namespace, dependency=True)
        return self._reflector(plan, field_selector=f"metadata.name={ref.name}")

    def detach(self) -> None:
        """Stops listening to the store, for watchers that are replaced (new credentials)."""
        self._unsubscribe()

    def stopping(self) -> None:
        log.info("Stopping Kubernetes resource watchers")

    def stopped(self) -> None:
        log.info("Kubernetes resource watchers stopped")

    def ready(self) -> bool:
        """Every source has been listed once, or its API is absent, or it is forbidden. A
        forbidden source is reported in /api/sources and the metrics; holding readiness for it
        would take every other source off the page with it."""
        settled = (ReflectorState.ABSENT, ReflectorState.FORBIDDEN)
        return all(r.status.synced_once or r.status.state in settled for r in self.reflectors)

    def statuses(self) -> list[Any]:
        return [r.status for r in self.reflectors] + [
            r.status for r, _ in self._references.values()
        ]

    def status(self) -> WatchStatus:
        return WatchStatus(
            watching=True,
            ready=self.ready(),
            sources=tuple(s.snapshot() for s in self.statuses()),
        )

    async def refresh(self) -> None:
        """Nothing to do: the watches keep the store current."""
