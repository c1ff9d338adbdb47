"""Several replicas behind a Service: N `startpunkt serve` processes watching one kube-apiserver.

    .venv/bin/python -m benchmarks.replicas [--apps 1000] [--replicas 0,1,3] [--rates 10,50]
                                            [--seconds 10] [--settle 10]

The real kube-apiserver of the tests' harness (`tests/kubecluster.py`, etcd beside it) holds
`--apps` Applications. For each N, N replicas run as their own processes (availability off,
everything else at its defaults: each lists and watches every source on its own, and takes part
in leader election), and this process keeps one SSE stream open to each. A writer then PATCHes a
different Application at each rate for `--seconds`, stamping into `spec.info` the time the write
was sent; each replica's stream reports when the line carrying it was read.

Per cell: write sent -> event line at every replica (p50/p99/max over all replicas' lines), lines
delivered, and the CPU the kube-apiserver, etcd and the replicas used over the window (100 % is
one core). Everything shares the same 2 cores, so the figures include the writer's and the
replicas' competition with the API server. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._web import summary
from benchmarks.watch_sync import CRDS, NAMESPACE, PATH, create_apps
from tests.kubecluster import KubeCluster

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"t=(\d+);p=(\d+)")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_replicas(
    n: int, kubeconfig: Path, config: Path
) -> list[tuple[subprocess.Popen[bytes], int]]:
    replicas = []
    for i in range(n):
        port = free_port()
        env = {**os.environ, "POD_NAME": f"replica-{i}", "POD_NAMESPACE": NAMESPACE}
        command = [sys.executable, "-m", "startpunkt", "serve", "--kubeconfig", str(kubeconfig)]
        command += ["--config", str(config), "--port", str(port), "--log-level", "warning"]
        replicas.append((subprocess.Popen(command, cwd=ROOT, env=env), port))
    return replicas


async def ready(port: int, apps: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        async with asyncio.timeout(180):
            while True:
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    r = await client.get("/api/apps")
                    if (
                        r.status_code == 200
                        and sum(len(g["applications"]) for g in r.json()["groups"]) >= apps
                    ):
                        return
                await asyncio.sleep(0.5)


async def listen(port: int, record: dict[int, list[float]], stop: asyncio.Event) -> None:
    """Reads one replica's stream, noting each stamped line's latency under its phase."""
    timeout = httpx.Timeout(10, read=None)
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as client,
        client.stream("GET", "/api/updates/stream") as response,
    ):
        lines = response.aiter_lines()
        stopping = asyncio.ensure_future(stop.wait())
        while True:
            nxt = asyncio.ensure_future(anext(lines))
            await asyncio.wait({nxt, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not nxt.done():
                nxt.cancel()
                return
            line = nxt.result()
            if line.startswith("data:") and (m := STAMP.search(line)):
                record.setdefault(int(m[2]), []).append((time.monotonic_ns() - int(m[1])) / 1e6)


async def write_at(
    client: httpx.AsyncClient, rate: int, seconds: float, phase: int, apps: int
) -> tuple[int, list[float], float]:
    """PATCHes `rate * seconds` Applications, each sent when due (at most 64 in flight).

    Each carries the time it is sent; returns failures, each PATCH's round trip in ms, and the
    rate achieved (below `rate` when the API server cannot take the writes that fast)."""
    total = int(rate * seconds)
    gate = asyncio.Semaphore(64)
    failed = 0
    took: list[float] = []

    async def one(k: int) -> None:
        nonlocal failed
        async with gate:
            sent = time.monotonic_ns()
            r = await client.patch(
                f"{PATH}/app-{k % apps:05d}",
                json={"spec": {"info": f"t={sent};p={phase}"}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            took.append((time.monotonic_ns() - sent) / 1e6)
            failed += r.status_code != 200

    start = time.monotonic_ns()
    step = 1e9 / rate
    tasks = []
    for k in range(total):
        due = int(start + k * step)
        await asyncio.sleep(max(0.0, (due - time.monotonic_ns()) / 1e9))
        tasks.append(asyncio.create_task(one(phase * 100_000 + k)))
    await asyncio.gather(*tasks)
    achieved = total / ((time.monotonic_ns() - start) / 1e9)
    return failed, took, achieved


async def measure(cluster: KubeCluster, args: argparse.Namespace, tmp: Path) -> None:
    kubeconfig = cluster.write_kubeconfig(tmp / "kubeconfig")
    config = tmp / "startpunkt.yaml"
    config.write_text("startpunkt:\n  availability:\n    enabled: false\n")
    pids = {"kube-apiserver": cluster._apiserver.pid, "etcd": cluster._etcd.pid}  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {cluster.admin_token}"}
    rates = [int(r) for r in args.rates.split(",")]
    print(
        f"replicas: {args.apps} Applications on the real kube-apiserver; at each rate "
        f"{args.seconds:.0f} s of PATCHes, each to a different app; "
        "write sent -> event line at every replica"
    )
    print(
        f"{'replicas':>8}{'changes/s':>11}{'done/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'lines':>13}{'apiserver':>11}{'etcd':>7}{'replicas':>10}{'writer':>8}{'PATCH p50':>11}"
    )
    async with httpx.AsyncClient(
        base_url=cluster.server, verify=cluster.ssl_context(), headers=headers, timeout=30
    ) as writer:
        for n in (int(x) for x in args.replicas.split(",")):
            replicas = start_replicas(n, kubeconfig, config)
            try:
                await asyncio.gather(*(ready(port, args.apps) for _, port in replicas))
                records: list[dict[int, list[float]]] = [{} for _ in replicas]
                stop = asyncio.Event()
                listeners = [
                    asyncio.create_task(listen(port, rec, stop))
                    for (_, port), rec in zip(replicas, records, strict=True)
                ]
                await asyncio.sleep(args.settle)  # streams open, start-up settled
                for phase, rate in enumerate(rates):
                    watched = {**pids, "writer": os.getpid()}
                    watched |= {f"r{i}": p.pid for i, (p, _) in enumerate(replicas)}
                    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
                    wall = time.monotonic()
                    failed, took_ms, achieved = await write_at(
                        writer, rate, args.seconds, phase, args.apps
                    )
                    await asyncio.sleep(1.0)  # the last lines arrive
                    took = time.monotonic() - wall
                    used = {
                        n_: (cpu_seconds(pid) - before[n_]) / took for n_, pid in watched.items()
                    }
                    lats = [v for rec in records for v in rec.get(phase, [])]
                    s = summary(lats)
                    expected = int(rate * args.seconds) * n
                    replica_cpu = sum(v for k, v in used.items() if k.startswith("r"))
                    print(
                        f"{n:8d}{rate:11d}{achieved:8.0f}{s['p50']:9.1f}{s['p99']:9.1f}{s['max']:9.1f}"
                        f"{f'{len(lats)}/{expected}':>13}{used['kube-apiserver']:10.0%}"
                        f"{used['etcd']:7.0%}{replica_cpu:10.0%}{used['writer']:8.0%}"
                        f"{summary(took_ms)['p50']:9.1f} ms"
                        + (f"  ({failed} writes failed)" if failed else ""),
                        flush=True,
                    )
                stop.set()
                await asyncio.gather(*listeners, return_exceptions=True)
            finally:
                for proc, _ in replicas:
                    proc.terminate()
                for proc, _ in replicas:
                    proc.wait(timeout=30)
    print("machine load average (1, 5, 15 min): " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        "CPU: share of one core over the window (writes plus 1 s); replicas: all N together; "
        "writer: this process (the PATCHes and reading the streams)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--replicas", default="0,1,3", help="0: the writes alone (baseline)")
    parser.add_argument("--rates", default="10,50", help="changes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after start-up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, KubeCluster(Path(tmp) / "kube") as cluster:
        for crd in sorted(CRDS.glob("*.yaml")):
            cluster.api.apply_yaml(crd)
        cluster.api.create_namespace(NAMESPACE)
        started = time.perf_counter()
        asyncio.run(create_apps(cluster, args.apps))
        print(f"(created {args.apps} Applications in {time.perf_counter() - started:.1f} s)")
        asyncio.run(measure(cluster, args, Path(tmp)))


if __name__ == "__main__":
    main()
