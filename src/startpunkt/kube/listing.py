"""`watch.enabled: false`: no watches; reads LIST on demand behind a short-lived cache.

The fallback the original offered for clusters where long-lived watches are a problem. Every
source is listed again when a request finds the data older than `watch.cacheTtl`; concurrent
requests share one refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time

from startpunkt.backend import WatchStatus
from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.discovery import Discovery
from startpunkt.kube.reflector import Reflector
from startpunkt.kube.supervising import plans
from startpunkt.shapes.status import ReflectorState
from startpunkt.store import Store

log = logging.getLogger(__name__)


class Lister:
    def __init__(self, api: Api, store: Store, settings: Settings) -> None:
        discovery = Discovery(api, ttl=settings.watch.absent_recheck)
        self._ttl = settings.watch.cache_ttl
        self.reflectors = [
            Reflector(
                api,
                discovery,
                store=store,
                source=p.source,
                kinds=p.kinds,
                namespace=p.namespace,
                settings=settings.watch,
                cluster=("", settings.clusters.local.name),
            )
            for p in plans(settings)
        ]
        self._lock = asyncio.Lock()
        self._listed_at: float | None = None

    async def refresh(self) -> None:
        if self._fresh():
            return
        async with self._lock:
            if self._fresh():  # another request refreshed while this one waited
                return
            async with asyncio.timeout(30):
                await asyncio.gather(*(r.list_once() for r in self.reflectors))
            self._listed_at = time.monotonic()

    def _fresh(self) -> bool:
        return self._listed_at is not None and time.monotonic() - self._listed_at < self._ttl

    def ready(self) -> bool:
        return self._listed_at is not None

    def status(self) -> WatchStatus:
        return WatchStatus(
            watching=False,
            ready=self.ready(),
            sources=tuple(
                r.status.snapshot()
                for r in self.reflectors
                if r.status.synced_once or r.status.state is not ReflectorState.SYNCING
            ),
        )
