"""What running several replicas costs the API server, on the real kube-apiserver.

Prints:
- API requests per hour for leader election at the default durations (15 s / 10 s / 2 s),
  for the leader and for each follower: counted by the client (every request the project's
  API client sends) over a measured window with three replicas, scaled to an hour;
- failover: how long until another replica holds the Lease after the leader is cut off (a
  crash: the Lease must expire) and after it shuts down gracefully (it hands the Lease back);
- availability-publish writes per hour for 2,000 apps of which 1 % change state per hour,
  every app probed once a minute: a compressed hour (every probe of the hour applied to the
  leader's store, the state changes spread over it) against the real API server, writes
  counted by the client; plus the ConfigMap's size, which each follower receives per write.

Run: .venv/bin/python -m benchmarks.leader_election [--seconds 60] [--apps 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.connection import Connection
from startpunkt.kube.leading import LeaderElector, LeaseConfig, Role
from startpunkt.kube.publishing import Publisher, configmap_path
from startpunkt.model import Availability, State
from startpunkt.runtime import build_store
from startpunkt.store import ProbeTarget
from tests.kubecluster import KubeCluster

NAMESPACE = "bench"


class Switch(httpx.AsyncBaseTransport):
    """A transport that can be cut off, as a crashed or partitioned leader is."""

    def __init__(self, cluster: KubeCluster) -> None:
        self.inner = httpx.AsyncHTTPTransport(verify=cluster.ssl_context())
        self.cut = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("cut off", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _idle() -> None:
    await asyncio.Event().wait()


class Replica:
    def __init__(self, cluster: KubeCluster, name: str, lease: str) -> None:
        self.switch = Switch(cluster)
        self.client = httpx.AsyncClient(
            base_url=cluster.server,
            transport=self.switch,
            headers={"Authorization": f"Bearer {cluster.admin_token}"},
            timeout=10.0,
        )
        self.api = Api(self.client)
        defaults = Settings().leader_election
        config = LeaseConfig(
            lease,
            NAMESPACE,
            name,
            defaults.lease_duration,
            defaults.renew_deadline,
            defaults.retry_period,
        )
        self.elector = LeaderElector(self.api, config, lead=_idle)
        self.task = asyncio.get_running_loop().create_task(self.elector.run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.aclose()


async def _until(condition: Any, timeout: float = 60.0) -> float:
    """Seconds until `condition()` holds, polled every 10 ms."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def election(cluster: KubeCluster, seconds: float) -> None:
    replicas = [Replica(cluster, f"replica-{i}", "steady") for i in range(3)]
    await _until(lambda: any(r.elector.role is Role.LEADER for r in replicas))
    await _until(lambda: all(r.elector.holder for r in replicas))
    before = [r.api.requests for r in replicas]
    await asyncio.sleep(seconds)
    counts = [r.api.requests - b for r, b in zip(replicas, before, strict=True)]
    roles = [r.elector.role for r in replicas]
    for replica in replicas:
        await replica.stop()
    print(f"leader election, defaults 15 s / 10 s / 2 s, 3 replicas, measured for {seconds:.0f} s")
    for replica, count, role in zip(replicas, counts, roles, strict=True):
        per_hour = count * 3600 / seconds
        what = "PUT (renew)" if role is Role.LEADER else "GET (look)"
        print(
            f"  {replica.elector.config.identity} ({role.value}): {count} requests, "
            f"~{per_hour:.0f}/h, each a {what} of one small Lease"
        )
    total = sum(counts) * 3600 / seconds
    print(f"  all three: ~{total:.0f}/h (~{total / 3600:.1f}/s)")


async def failover(cluster: KubeCluster, graceful: bool) -> float:
    lease = "graceful" if graceful else "crash"
    replicas = [Replica(cluster, f"{lease}-{i}", lease) for i in range(3)]
    await _until(lambda: any(r.elector.role is Role.LEADER for r in replicas))
    await _until(lambda: all(r.elector.holder for r in replicas))
    await asyncio.sleep(3)  # a few renewals, so followers have seen it renewed
    leader = next(r for r in replicas if r.elector.role is Role.LEADER)
    others = [r for r in replicas if r is not leader]
    if graceful:
        started = time.monotonic()
        await leader.stop()  # hands the Lease back
    else:
        leader.switch.cut = True  # never renews again, and cannot hand it back
        started = time.monotonic()
    await _until(lambda: any(r.elector.role is Role.LEADER for r in others))
    seconds = time.monotonic() - started
    for replica in replicas:
        if replica is not leader or not graceful:
            await replica.stop()
    return seconds


async def publishing(cluster: KubeCluster, apps: int, rate: float) -> None:
    store = build_store(Settings())
    for i in range(apps):
        store.apply(
            "startpunkt-application",
            "ADDED",
            {
                "apiVersion": "startpunkt.ullberg.us/v1alpha4",
                "kind": "Application",
                "metadata": {"name": f"app-{i}", "namespace": NAMESPACE},
                "spec": {"name": f"App {i}", "group": "G", "url": f"https://app-{i}.example/"},
            },
        )
    targets = sorted(store.probe_targets(), key=lambda t: t.url)
    conn = Connection(server=cluster.server, ca_file=cluster.ca_file, token=cluster.admin_token)
    client = conn.client(httpx.Timeout(30.0))
    api = Api(client)
    publisher = Publisher(api, store, namespace=NAMESPACE, ready=lambda: True)
    state = dict.fromkeys(targets, State.UP)

    def probe(target: ProbeTarget, checked: float) -> None:
        latency = random.uniform(5, 50)
        store.set_availability(target, Availability(state[target], 200, latency, checked))

    for target in targets:  # the first round: every state is new
        probe(target, 0.0)
    task = asyncio.get_running_loop().create_task(publisher.run())
    await _until(lambda: publisher.writes >= 1)
    first = api.requests
    changes = round(apps * rate)
    changers = random.sample(targets, changes)
    # an hour compressed: 60 probes of every app (one a minute), with the changes spread over
    # it, each in its own minute and far enough apart not to share a write
    change_minutes = dict(zip(random.sample(range(1, 60), changes), changers, strict=True))
    for minute in range(1, 60):
        if (changed := change_minutes.get(minute)) is not None:
            state[changed] = State.DOWN if state[changed] is State.UP else State.UP
        for target in targets:
            probe(target, minute * 60.0)
        await asyncio.sleep(0.3)
    await _until(lambda: publisher.changes() == {})
    requests = api.requests - first
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    size = len(json.dumps(await api.get(configmap_path(NAMESPACE))))
    await client.aclose()
    print(
        f"availability publishing: {apps} apps probed once a minute, {rate:.0%} changing state "
        "per hour (a compressed hour, measured)"
    )
    print(f"  probes in the hour: {apps * 60}, state changes: {len(change_minutes)}")
    print(f"  writes to the ConfigMap in the hour: {requests} (for {changes} changes)")
    print("  first publish after taking over: 1 read, then 1 write of every state")
    print(
        f"  ConfigMap size: {size / 1024:.0f} KiB with managedFields; each follower receives "
        f"it whole per write: ~{requests * size / 1e6:.1f} MB/h per follower"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0.01)
    args = parser.parse_args()
    logging.getLogger("startpunkt").setLevel(logging.ERROR)  # the cut-off leader complains
    with tempfile.TemporaryDirectory() as tmp, KubeCluster(Path(tmp)) as cluster:
        cluster.api.create_namespace(NAMESPACE)

        async def run() -> None:
            await election(cluster, args.seconds)
            crash = await failover(cluster, graceful=False)
            graceful = await failover(cluster, graceful=True)
            print(
                f"failover at the defaults: leader cut off -> another holds the Lease after "
                f"{crash:.1f} s (15 s after the last renewal the followers saw, at their next "
                f"look); graceful shutdown -> {graceful:.1f} s (handed back)"
            )
            await publishing(cluster, args.apps, args.rate)

        asyncio.run(run())


if __name__ == "__main__":
    main()
