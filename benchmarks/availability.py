"""Availability checking at scale: 2,000 targets on a local server, half of which never answer.

    .venv/bin/python benchmarks/availability.py [--targets 2000] [--timeout 1]
                                                 [--concurrency 100 250]

For each concurrency, a fresh process builds a Store with N apps (every other one on a path
where the server reads the request and never answers), runs the real Checker and waits until
every target has its first result. It prints:

- the round duration against `timeout * ceil(N / concurrency)` (the bound if every probe took
  the whole timeout) and `timeout * ceil(hanging / concurrency)` (the floor for this mix);
- CPU time per probe of the checking process (the server runs in its own process);
- peak RSS of the checking process, before probing and at the end.

Prints numbers, asserts nothing. The servers and children are ended when it finishes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import resource
import subprocess
import sys
import time
from typing import Any

from startpunkt.checking import Checker
from startpunkt.config import Availability, Settings
from startpunkt.model import Application, ObjectRef, Outcome
from startpunkt.store import KubeObject, Notice, Store

# -- the server (a child process, so its CPU time is not counted) ---------------------------


class _Http(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: 200 to any path, except /hang/... which never answers."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            if head.split(b" ", 2)[1].startswith(b"/hang/"):
                return  # keep the connection open and silent until the client gives up
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


# -- one measurement (a child process, so peak RSS is its own) ------------------------------


def _mapper(source: str, obj: KubeObject) -> Outcome | None:
    name, url = obj["metadata"]["name"], obj["spec"]["url"]
    app = Application(
        key=f"bench/default/{name}",
        name=name,
        group="Bench",
        url=url,
        source="bench",
        namespace="default",
        resource_name=name,
    )
    return Outcome.shown(ObjectRef("App", "default", name), app)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _measure(port: int, targets: int, timeout: float, concurrency: int) -> dict[str, Any]:
    store = Store(_mapper)
    for i in range(targets):
        path = f"/hang/{i}" if i % 2 else f"/fast/{i}"
        obj = {"metadata": {"name": f"app{i}"}, "spec": {"url": f"http://127.0.0.1:{port}{path}"}}
        store.apply("bench", "ADDED", obj)
    states: dict[str, int] = {}
    done = asyncio.Event()

    def listen(notice: Notice) -> None:
        if not isinstance(notice, list):
            return  # a resync, or news of the raw objects
        for change in notice:
            if change.action == "status":
                states[change.availability.state.value] = (
                    states.get(change.availability.state.value, 0) + 1
                )
        if sum(states.values()) >= targets:
            done.set()

    store.subscribe(listen)
    availability = Availability(interval=3600, timeout=timeout, concurrency=concurrency)
    checker = Checker(Settings(availability=availability), store)
    rss_before = _peak_rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    task = asyncio.create_task(checker.run(), name="availability checker")
    bound = timeout * math.ceil(targets / concurrency)
    async with asyncio.timeout(bound * 3 + 30):
        await done.wait()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return {
        "concurrency": concurrency,
        "round_s": wall,
        "cpu_s": cpu,
        "states": states,
        "rss_before_mib": rss_before,
        "rss_peak_mib": _peak_rss_mib(),
    }


# -- the driver -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[100, 250])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        asyncio.run(_serve())
        return
    if args.measure:
        (concurrency,) = args.concurrency
        result = asyncio.run(_measure(args.measure, args.targets, args.timeout, concurrency))
        print(json.dumps(result))
        return

    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        hanging = args.targets // 2
        print(
            f"{args.targets} targets ({hanging} never answer), timeout {args.timeout:g} s, "
            f"one local server process; Python {sys.version.split()[0]}"
        )
        header = (
            f"{'concurrency':>11} {'round s':>8} {'bound s':>8} {'floor s':>8} "
            f"{'CPU s':>6} {'CPU ms/probe':>12} {'RSS before':>10} {'RSS peak':>9}  states"
        )
        print(header)
        for concurrency in args.concurrency:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--measure={port}",
                    f"--targets={args.targets}",
                    f"--timeout={args.timeout}",
                    f"--concurrency={concurrency}",
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            bound = args.timeout * math.ceil(args.targets / concurrency)
            floor = args.timeout * math.ceil(hanging / concurrency)
            print(
                f"{concurrency:>11} {r['round_s']:>8.2f} {bound:>8.1f} {floor:>8.1f} "
                f"{r['cpu_s']:>6.2f} {r['cpu_s'] * 1000 / args.targets:>12.3f} "
                f"{r['rss_before_mib']:>7.1f} MiB {r['rss_peak_mib']:>5.1f} MiB  {r['states']}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
