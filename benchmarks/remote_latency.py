"""Several clusters: what following costs, in time and in requests.

Prints:
- p50/p99 from an API write to the event at a client of a second Startpunkt that follows the
  first as a remote (`clusters.remote[]`), next to the same at a client of the first itself;
- requests the follower sends the followed instance while idle (counted by a loopback proxy);
- requests a directly watched cluster (`clusters.kubeconfigs[]`) costs its API server while
  idle, counted by the client, per hour.

Run: .venv/bin/python -m benchmarks.remote_latency [--changes 50] [--idle 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from startpunkt.clusters import Clusters
from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.connection import from_kubeconfig
from startpunkt.kube.supervising import Watchers, plans
from startpunkt.runtime import build_store
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application, install_crds
from tests.serving import Served
from tests.tcpproxy import TcpProxy

NAMESPACE = "bench"


class Arrivals:
    """Reads a stream in a thread; records when each added app's name first arrived."""

    def __init__(self, url: str) -> None:
        self.seen: dict[str, float] = {}
        self.opened = threading.Event()
        threading.Thread(target=self._read, args=(url,), daemon=True).start()
        assert self.opened.wait(20)

    def _read(self, url: str) -> None:
        with httpx.stream("GET", url, timeout=httpx.Timeout(10, read=None)) as response:
            self.opened.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    envelope = json.loads(line[5:])
                    data = envelope.get("data")
                    if envelope.get("type") == "APPLICATION_ADDED" and isinstance(data, dict):
                        self.seen.setdefault(str(data.get("name")), time.monotonic())


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):6.1f} ms   p99 {p99:6.1f} ms"


def latency(cluster: KubeCluster, work: Path, changes: int, idle: float) -> None:
    kubeconfig = cluster.write_kubeconfig(work / "kubeconfig")
    first_config = work / "first.yaml"
    first_config.write_text(
        "startpunkt:\n  availability: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{NAMESPACE}]}}\n"
    )
    first = Served(["--kubeconfig", str(kubeconfig), "--config", str(first_config)], work / "1")
    manifests = work / "manifests"
    manifests.mkdir()
    with first, TcpProxy(first.port) as link:
        second_config = work / "second.yaml"
        second_config.write_text(
            "startpunkt:\n  availability: {enabled: false}\n"
            f"  clusters: {{remote: [{{name: first, url: '{link.url}'}}]}}\n"
        )
        args = ["--manifests", str(manifests), "--config", str(second_config)]
        with Served(args, work / "2") as second:
            at_first = Arrivals(first.url + "/api/updates/stream")
            at_second = Arrivals(second.url + "/api/updates/stream")
            time.sleep(1)  # both streams settled (a benchmark, not a test)
            direct, followed = [], []
            for i in range(changes):
                name = f"App-{i:03d}"
                sent = time.monotonic()
                cluster.api.post(app_path(NAMESPACE), application(name.lower(), NAMESPACE))
                deadline = sent + 10
                while (
                    name not in at_second.seen or name not in at_first.seen
                ) and time.monotonic() < deadline:
                    time.sleep(0.0005)
                direct.append((at_first.seen[name] - sent) * 1000)
                followed.append((at_second.seen[name] - sent) * 1000)
                time.sleep(0.02)
            print(f"API write -> event at a client, {changes} changes, loopback:")
            print(f"  client of the first instance (baseline)   {percentiles(direct)}")
            print(f"  client of the second, following the first {percentiles(followed)}")
            before = b"".join(link.requests).count(b"HTTP/1.1\r\n")
            time.sleep(idle)
            requests = b"".join(link.requests).count(b"HTTP/1.1\r\n") - before
            print(
                f"follower -> followed instance while idle for {idle:.0f} s: {requests} requests "
                "(one open event stream; heartbeats ride on it)"
            )


class _Measured(Exception):
    """Ends the watchers' TaskGroup once the idle window is counted."""


async def direct_idle(cluster: KubeCluster, work: Path, idle: float) -> None:
    settings = Settings()
    connection = from_kubeconfig([cluster.write_kubeconfig(work / "direct")])
    store = build_store(settings, clusters=Clusters())
    counted: dict[str, int] = {}
    async with connection.client(httpx.Timeout(30.0, connect=10.0)) as client:
        api = Api(client)
        watchers = Watchers(api, store, settings, ("lab", "lab"))

        async def count() -> None:
            # polling on purpose: readiness is a condition over many reflectors, not an event
            while not watchers.ready():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)
            before = api.requests
            await asyncio.sleep(idle)
            counted["requests"] = api.requests - before
            raise _Measured

        try:
            async with asyncio.TaskGroup() as group:
                watchers.start(group)
                group.create_task(count())
        except* _Measured:
            pass
    requests = counted["requests"]
    absent = sum(1 for r in watchers.reflectors if r.status.state.value == "absent")
    watching = len(watchers.reflectors) - absent
    print(
        f"direct cluster -> its API server while idle for {idle:.0f} s: {requests} requests, "
        f"{requests * 3600 / idle:.0f}/h measured; {len(plans(settings))} reflectors "
        f"({watching} watching, {absent} for APIs the cluster does not serve)"
    )
    print(
        f"  by reasoning: {watching} watches renewed every ~{settings.watch.timeout:.0f} s "
        f"= {watching * 3600 / settings.watch.timeout:.0f}/h, plus one discovery request per "
        f"absent API group every {settings.watch.absent_recheck:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cluster = KubeCluster(work / "cluster")
        cluster.start()
        try:
            install_crds(cluster)
            cluster.api.create_namespace(NAMESPACE)
            latency(cluster, work, args.changes, args.idle)
            asyncio.run(direct_idle(cluster, work, args.idle))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
