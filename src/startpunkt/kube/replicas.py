"""Several replicas wired together: the Lease election, the leader's work (probing, writing
`.status`, publishing availability), and following the published availability elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from startpunkt.aio import forever
from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.discovery import Discovery
from startpunkt.kube.leading import LeaderElector, Work, lease_config
from startpunkt.kube.publishing import CONFIGMAP_KIND, CONFIGMAP_NAME, Follower, Publisher
from startpunkt.kube.publishing import SOURCE as PUBLISHED_SOURCE
from startpunkt.kube.reflector import Reflector
from startpunkt.shapes.status import Role
from startpunkt.store import Store


async def together(work: Sequence[tuple[str, Work]]) -> None:
    """The leader's tasks as one: each must run forever, and one failing stops them all."""
    async with asyncio.TaskGroup() as group:
        for name, factory in work:
            group.create_task(forever(factory()), name=name)


class LeaderCollector(Collector):
    """`startpunkt_leader`: 1 while this replica probes and writes (leader, or alone)."""

    def __init__(self, leading: Callable[[], bool]) -> None:
        self._leading = leading

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "startpunkt_leader",
            "1 while this replica probes apps and writes status (it holds the Lease, or runs "
            "alone); 0 while it follows another replica",
            value=float(self._leading()),
        )


class Replicas:
    """Everything several replicas need: the election, the leader's work (with publishing its
    availability), and following the published availability while another replica leads."""

    def __init__(
        self,
        api: Api,
        store: Store,
        *,
        settings: Settings,
        fallback_namespace: str,
        work: Sequence[tuple[str, Work]],
        ready: Callable[[], bool],
    ) -> None:
        config = lease_config(
            settings.leader_election,
            fallback_namespace,
            unusable_retry=settings.watch.forbidden_retry,
        )
        namespace = config.namespace
        self.publisher = Publisher(
            api,
            store,
            namespace=namespace,
            ready=ready,
            field_manager=field_manager(config.identity),
        )
        self._elected = asyncio.Event()
        leader_work = [*work, ("availability publisher", self._publish)]
        self.elector = LeaderElector(api, config, lead=lambda: together(leader_work))
        self.follower = Follower(store, namespace, lambda: self.elector.role is Role.FOLLOWER)
        self.elector.role_listeners.append(self._role_changed)
        self._reflector = Reflector(
            api,
            Discovery(api, ttl=settings.watch.absent_recheck),
            store=store,
            source=PUBLISHED_SOURCE,
            kinds=(CONFIGMAP_KIND,),
            namespace=namespace,
            settings=settings.watch,
            field_selector=f"metadata.name={CONFIGMAP_NAME}",
            log_events=False,
        )

    def _role_changed(self, role: Role) -> None:
        if role is Role.LEADER:
            self._elected.set()
        else:
            self._elected.clear()
        if role is Role.FOLLOWER:
            self.follower.restart()

    async def _publish(self) -> None:
        # a replica working alone has nobody to publish to (and may not be allowed to)
        await self._elected.wait()
        await self.publisher.run()

    async def _follow(self) -> None:
        # only once the election is on: a replica that cannot use the Lease needs no ConfigMap
        await self.elector.usable.wait()
        await self._reflector.run()

    def tasks(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [
            ("leader election", forever(self.elector.run())),
            ("published availability", forever(self._follow())),
        ]


def field_manager(identity: str) -> str:
    """Who wrote a field, as `managedFields` records it: the replica, not just the program."""
    return f"startpunkt/{identity}"[:128]
