"""Absent APIs are re-checked by one shared discovery read per period, not one per source.

Most tests run every source's reflector (the watchers as the runtime starts them) against a
kube-apiserver of this module's own with none of the optional CRDs installed, through a proxy
that counts requests; the shared cluster is enough where only built-in APIs are asked about.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
import yaml

from startpunkt.kube.api import Api, ApiError
from startpunkt.kube.connection import Connection
from startpunkt.kube.discovery import Discovery
from startpunkt.kube.reflector import ReflectorState
from startpunkt.kube.watching import Watchers
from startpunkt.model import ResourceKind
from startpunkt.store import Store
from tests.kube.conftest import settings_for, store_for
from tests.kube.counting import discovery_reads
from tests.kube.faultproxy import FaultProxy
from tests.kubecluster import KubeCluster
from tests.waiting import eventually

pytestmark = pytest.mark.cluster

PERIOD = 1.0  # watch.absentRecheck in these tests
FOREIGN_CRDS = Path(__file__).parents[1] / "data" / "foreign-crds" / "crds.yaml"
EVERY_SOURCE = {
    "namespaceSelector": {"any": True},
    "openshift": {"enabled": True},
    "hajimari": {"enabled": True},
    "istio": {"virtualservice": {"enabled": True}},
    "gatewayapi": {"httproute": {"enabled": True}},
    "ingress": {"enabled": True},
    "availability": {"enabled": True},  # EndpointSlices are read too
    "watch": {"absentRecheck": f"{PERIOD}s"},
}


@pytest.fixture(scope="module")
def bare_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A cluster of this module's own: the shared ones get CRDs installed by other tests, and
    these tests need them absent (and install and delete one)."""
    cluster = KubeCluster(tmp_path_factory.mktemp("bare-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


def foreign_crd(name: str) -> dict[str, Any]:
    docs = yaml.safe_load_all(FOREIGN_CRDS.read_text())
    found: dict[str, Any] = next(d for d in docs if d["metadata"]["name"] == name)
    return found


def crd_path(crd: dict[str, Any]) -> str:
    return f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"


class Running:
    def __init__(self, watchers: Watchers, store: Store, proxy: FaultProxy) -> None:
        self.watchers, self.store, self.proxy = watchers, store, proxy

    def state(self, source: str) -> ReflectorState:
        return next(r.status.state for r in self.watchers.reflectors if r.status.source == source)

    def absent(self) -> list[str]:
        return [
            r.status.source
            for r in self.watchers.reflectors
            if r.status.state is ReflectorState.ABSENT
        ]


class Tasks:
    """Stands in for the runtime's TaskGroup: a fixture's setup and teardown may run in
    different tasks, which a TaskGroup does not allow."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def create_task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task


@pytest.fixture
async def running(bare_cluster: KubeCluster) -> AsyncIterator[Running]:
    """Every source's watcher, started as the runtime starts them, through a counting proxy."""
    settings = settings_for(**EVERY_SOURCE)
    tasks = Tasks()
    async with FaultProxy(
        bare_cluster.server, str(bare_cluster.ca_file), bare_cluster.admin_token
    ) as proxy:
        client = Connection(server=proxy.url).client(httpx.Timeout(10.0))
        store = store_for(settings)
        watchers = Watchers(Api(client), store, settings)
        try:
            watchers.start(tasks)  # type: ignore[arg-type]
            await eventually(watchers.ready, what="every source synced or absent")
            yield Running(watchers, store, proxy)
        finally:
            for task in tasks.tasks:
                task.cancel()
            await asyncio.gather(*tasks.tasks, return_exceptions=True)
            await client.aclose()


async def test_absent_apis_cost_one_discovery_read_per_period_not_one_per_source(
    running: Running,
) -> None:
    absent = running.absent()
    assert len(absent) >= 6, absent  # Startpunkt's, Hajimari's, Route, HTTPRoute, Gateway, ...
    loop = asyncio.get_running_loop()
    since, started = loop.time(), time.monotonic()

    periods = 5
    await eventually(
        lambda: len(discovery_reads(running.proxy, since)) >= periods,
        timeout=periods * PERIOD * 6,
        what=f"{periods} discovery reads",
    )
    elapsed = time.monotonic() - started
    reads = discovery_reads(running.proxy, since)
    # one aggregated read per period for all of them (the old cost: ~17 per period)
    assert len(reads) <= elapsed / PERIOD + 2, reads
    # present APIs (Ingress, EndpointSlice) and absent groups' versions are never asked about
    assert set(reads) == {"/apis"}
    assert running.absent() == absent


async def test_an_api_installed_later_is_picked_up_within_a_period_and_dropped_when_deleted(
    running: Running, bare_cluster: KubeCluster
) -> None:
    assert running.state("hajimari-application") is ReflectorState.ABSENT
    crd = foreign_crd("applications.hajimari.io")
    api = bare_cluster.api
    api.apply(crd)  # returns once the API is served
    installed = time.monotonic()
    await eventually(
        lambda: running.state("hajimari-application") is ReflectorState.SYNCED,
        timeout=PERIOD * 8,
        what="the new API to be watched within a few re-check periods",
    )
    picked_up = time.monotonic() - installed

    api.create_namespace("late")
    api.post(
        "/apis/hajimari.io/v1alpha1/namespaces/late/applications",
        {
            "apiVersion": "hajimari.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "jellyfin", "namespace": "late"},
            "spec": {"name": "Jellyfin", "group": "Media", "url": "https://jellyfin.example"},
        },
    )
    await eventually(
        lambda: [a.name for a in running.store.snapshot().applications] == ["Jellyfin"],
        what="the new API's app on the page",
    )

    # deleting the CRD ends the watch with 404, which makes the next answer a fresh read
    api.delete(crd_path(crd))
    await eventually(
        lambda: running.state("hajimari-application") is ReflectorState.ABSENT,
        timeout=30,
        what="the deleted API to be reported absent",
    )
    assert running.store.snapshot().applications == ()
    print(f"picked up {picked_up:.2f} s after the CRD was served (re-check period {PERIOD} s)")


async def test_a_kind_added_to_a_group_already_served_is_picked_up_too(
    running: Running, bare_cluster: KubeCluster
) -> None:
    # the group and version are already in /apis, so only their resource list can tell
    applications, bookmarks = (
        foreign_crd(f"{p}.hajimari.io") for p in ("applications", "bookmarks")
    )
    api = bare_cluster.api
    api.apply(applications)
    await eventually(
        lambda: running.state("hajimari-application") is ReflectorState.SYNCED,
        timeout=PERIOD * 8,
        what="the first kind of the group to be watched",
    )
    assert running.state("hajimari-bookmark") is ReflectorState.ABSENT
    api.apply(bookmarks)
    await eventually(
        lambda: running.state("hajimari-bookmark") is ReflectorState.SYNCED,
        timeout=PERIOD * 8,
        what="the second kind of the group to be watched within a few re-check periods",
    )

    for crd in (applications, bookmarks):
        api.delete(crd_path(crd))
    await eventually(
        lambda: {"hajimari-application", "hajimari-bookmark"} <= set(running.absent()),
        timeout=30,
        what="the deleted APIs to be reported absent",
    )


async def test_concurrent_questions_share_one_read_and_a_404_makes_the_next_one_fresh(
    kube_cluster: KubeCluster,
) -> None:
    ingress = ResourceKind("networking.k8s.io", "v1", "ingresses", "Ingress", "Ingress")
    missing = ResourceKind("absent.example.com", "v1", "things", "Thing", "Thing")
    async with (
        FaultProxy(
            kube_cluster.server, str(kube_cluster.ca_file), kube_cluster.admin_token
        ) as proxy,
        Connection(server=proxy.url).client(httpx.Timeout(10.0)) as client,
    ):
        discovery = Discovery(Api(client), ttl=600)
        answers = await asyncio.gather(*(discovery.resolve((missing, ingress)) for _ in range(20)))
        assert answers == [ingress] * 20
        assert sorted(discovery_reads(proxy)) == ["/apis", "/apis/networking.k8s.io/v1"]

        assert await discovery.resolve((missing,)) is None  # from the recent read
        assert len(discovery_reads(proxy)) == 2

        discovery.forget()  # what a reflector does when its watch gets 404
        assert await discovery.resolve((missing, ingress)) == ingress
        assert sorted(discovery_reads(proxy)) == [
            "/apis",
            "/apis",
            "/apis/networking.k8s.io/v1",
            "/apis/networking.k8s.io/v1",
        ]


async def test_a_failing_read_is_shared_by_those_waiting_for_it_and_not_kept() -> None:
    # an API server failing /apis on demand: the proxy's upstream refuses connections, so the
    # proxy answers 500
    thing = ResourceKind("absent.example.com", "v1", "things", "Thing", "Thing")
    async with (
        FaultProxy("https://127.0.0.1:9", certifi.where(), "unused") as proxy,
        Connection(server=proxy.url).client(httpx.Timeout(10.0)) as client,
    ):
        discovery = Discovery(Api(client), ttl=600)
        answers = await asyncio.gather(
            *(discovery.resolve((thing,)) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(a, ApiError) and a.status == 500 for a in answers), answers
        assert discovery_reads(proxy) == ["/apis"]  # one request failed for all 20

        with pytest.raises(ApiError):  # asked again later: tried again, not a kept failure
            await discovery.resolve((thing,))
        assert discovery_reads(proxy) == ["/apis", "/apis"]
