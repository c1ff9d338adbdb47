"""Watch engine against the real kube-apiserver with 5,000 Applications.

Prints:
- initial sync time (paginated LIST into the store) next to one plain LIST of the same
  objects in the same run (the floor any client pays);
- p50/p99 from an API write returning to the store's change;
- API requests and bytes while idle, next to what polling every 60 s (the original's interval)
  would cost for the same objects.

Run: .venv/bin/python -m benchmarks.watch_sync [--apps 5000] [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.connection import Connection
from startpunkt.kube.discovery import Discovery
from startpunkt.kube.reflector import Reflector
from startpunkt.runtime import build_store
from startpunkt.sources import source_named
from startpunkt.store import Notice
from tests.kubecluster import KubeCluster

CRDS = Path(__file__).parents[1] / "deploy" / "crds"
NAMESPACE = "bench"
PATH = f"/apis/startpunkt.ullberg.us/v1alpha4/namespaces/{NAMESPACE}/applications"


def app(i: int) -> dict[str, object]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": f"app-{i:05d}", "namespace": NAMESPACE},
        "spec": {
            "name": f"App {i}",
            "group": f"Group {i % 40}",
            "url": f"https://app-{i}.example",
            "info": "A benchmark application",
            "tags": "bench",
        },
    }


async def create_apps(cluster: KubeCluster, count: int) -> None:
    headers = {"Authorization": f"Bearer {cluster.admin_token}"}
    async with httpx.AsyncClient(
        base_url=cluster.server, verify=cluster.ssl_context(), headers=headers, timeout=30
    ) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(PATH, json=app(i))
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(cluster: KubeCluster, count: int, idle: float, writes: int) -> None:
    conn = Connection(server=cluster.server, ca_file=cluster.ca_file, token=cluster.admin_token)
    client = conn.client(httpx.Timeout(60.0))
    api = Api(client)
    settings = Settings()

    # baseline: one unpaginated LIST of everything, what a poller pays every interval
    started = time.perf_counter()
    response = await client.get(PATH)
    list_seconds = time.perf_counter() - started
    list_bytes = len(response.content)

    store = build_store(settings)
    arrivals: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_notice(notice: Notice) -> None:
        arrived.set()
        if isinstance(notice, list):
            for change in notice:
                arrivals[change.item.resource_name] = time.perf_counter()

    store.subscribe(on_notice)
    source = source_named("startpunkt-application")
    reflector = Reflector(
        api,
        Discovery(api),
        store=store,
        source=source.name,
        kinds=source.kinds,
        namespace=NAMESPACE,
        settings=settings.watch,
    )
    started = time.perf_counter()
    task = asyncio.create_task(reflector.run())
    await arrived.wait()  # the first listing is one Resync notice
    sync_seconds = time.perf_counter() - started
    assert len(store.snapshot().applications) == count

    latencies: list[float] = []
    before_response = 0
    for i in range(writes):
        name = f"app-{i:05d}"
        arrivals.pop(name, None)
        arrived.clear()
        sent = time.perf_counter()
        await client.patch(
            f"{PATH}/{name}",
            json={"spec": {"info": f"edit {i}"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        returned = time.perf_counter()
        while name not in arrivals:
            await arrived.wait()
            arrived.clear()
        before_response += arrivals[name] <= returned
        latencies.append((arrivals[name] - sent) * 1000)

    before = api.requests
    await asyncio.sleep(idle)
    idle_requests = api.requests - before
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()

    per_hour_watch = 3600 / settings.watch.timeout
    print(f"objects: {count}")
    print(f"initial sync (paginated LIST into the store): {sync_seconds:.2f} s")
    print(
        f"  baseline, one plain LIST of the same objects: {list_seconds:.2f} s, "
        f"{list_bytes / 1e6:.1f} MB"
    )
    print(
        f"write sent -> store change over {writes} writes: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms "
        f"({before_response} changes arrived before the write's own response)"
    )
    print(
        f"API requests while idle for {idle:.0f} s: {idle_requests} "
        f"(watch renews about every {settings.watch.timeout:.0f} s: ~{per_hour_watch:.0f}/h)"
    )
    print(
        f"  baseline, polling every 60 s: {idle / 60:.1f} LISTs in {idle:.0f} s, 60/h, "
        f"~{60 * list_bytes / 1e6:.0f} MB/h transferred vs ~0 MB/h for an idle watch"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, KubeCluster(Path(tmp)) as cluster:
        for crd in sorted(CRDS.glob("*.yaml")):
            cluster.api.apply_yaml(crd)
        cluster.api.create_namespace(NAMESPACE)
        started = time.perf_counter()
        asyncio.run(create_apps(cluster, args.apps))
        print(f"(created {args.apps} Applications in {time.perf_counter() - started:.1f} s)")
        asyncio.run(measure(cluster, args.apps, args.idle, args.writes))


if __name__ == "__main__":
    main()
