"""How many open pages and changes per second one replica holds: clients x change rate.

    .venv/bin/python benchmarks/stream_scale.py [--apps 5000] [--clients 1000,5000,10000]
                                                [--rates 10,100,1000] [--seconds 3]

For each client count, one child process runs the project's server (uvicorn + uvloop +
httptools, pinned to CPU 0) with `--apps` applications, and a grandchild (CPU 1) opens that many
SSE streams. The server then changes apps at each rate in turn for `--seconds`: change k is due
at `start + k / rate`, and every change due is applied when the loop gets to it, stamped with
the time it was *due*, so a loop that falls behind shows up as latency rather than as a lower
rate. Each change is a different app (no two coalesce).

The client process drains every stream and parses the event lines of an evenly spread sample
of them (`--sample`, parsing all 10,000 would measure the client); it also counts streams the
server closed (a client that falls behind its backlog is cut off). Latency is from the change's
due time to its line being read, on the shared monotonic clock, as in `stream_latency.py`.

Prints one row per cell with p50/p99 and whether p99 is within `--goal` ms; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._web import (
    ROOT,
    STREAM,
    app_object,
    build_context,
    build_store,
    child_result,
    pin,
    serve,
    stop,
    summary,
    until,
)
from startpunkt.store import Store
from startpunkt.web.app import create_app

STAMP = re.compile(rb"t=(\d+);p=(-?\d+)")
END = -1  # the phase of the last change, which ends the client's reading
TICKS = os.sysconf("SC_CLK_TCK")


def waited_seconds(pid: int | str) -> float:
    """Time the process's main thread was ready to run but waiting for a CPU (run queue)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- the server side (a child process) ------------------------------------------------------


async def change_at(
    store: Store, apps: int, rate: int, seconds: float, phase: int, first: int
) -> int:
    """Changes `rate * seconds` apps, each stamped with its due time; returns the next index."""
    total = int(rate * seconds)
    start = time.monotonic_ns()
    step = 1e9 / rate
    k = 0
    while k < total:
        now = time.monotonic_ns()
        while k < total and start + k * step <= now:
            due = int(start + k * step)
            obj = app_object((first + k) % apps, info=f"t={due};p={phase}")
            store.apply("startpunkt", "MODIFIED", obj)
            k += 1
        if k < total:
            await asyncio.sleep(max(0.0, (start + k * step - time.monotonic_ns()) / 1e9))
    return first + total


async def run_server(args: argparse.Namespace) -> dict[str, Any]:
    store = build_store(args.apps)
    ctx = build_context(args.apps, store=store)
    server, task, port = await serve(create_app(ctx), ctx.hub)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            str(port),
            str(args.clients_one),
            str(args.sample),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        async with asyncio.timeout(120):
            opened = json.loads(await proc.stdout.readline())
        await until(lambda: ctx.hub.clients >= args.clients_one, 60)
        index = 0
        busy: list[float] = []
        client_busy: list[float] = []
        waited: list[float] = []
        client_waited: list[float] = []
        cut: list[int] = []  # streams closed by the server so far, after each rate
        for phase, rate in enumerate(args.rate_list):
            wall, cpu, peer = time.monotonic(), time.process_time(), cpu_seconds(proc.pid)
            queued, peer_queued = waited_seconds("self"), waited_seconds(proc.pid)
            index = await change_at(store, args.apps, rate, args.seconds, phase, index)
            took = time.monotonic() - wall
            busy.append((time.process_time() - cpu) / took)
            client_busy.append((cpu_seconds(proc.pid) - peer) / took)
            waited.append((waited_seconds("self") - queued) / took)
            client_waited.append((waited_seconds(proc.pid) - peer_queued) / took)
            await asyncio.sleep(1.0)  # let the last of this rate arrive before the next
            cut.append(args.clients_one - ctx.hub.clients)
        obj = app_object(index % args.apps, info=f"t={time.monotonic_ns()};p={END}")
        store.apply("startpunkt", "MODIFIED", obj)
        async with asyncio.timeout(120):
            line = await proc.stdout.readline()
            await proc.wait()
        result: dict[str, Any] = json.loads(line)
        result["open_s"] = opened["seconds"]
        result["busy"] = busy
        result["client_busy"] = client_busy
        result["cut"] = cut
        result["waited"] = waited
        result["client_waited"] = client_waited
        return result
    finally:
        await stop(server, task)


# -- the client side (a grandchild process) --------------------------------------------------


class Drain(asyncio.Protocol):
    """One stream: discards what it reads, or parses its event lines when sampled."""

    def __init__(self, sampled: bool, record: dict[int, list[float]], done: asyncio.Event):
        self.sampled = sampled
        self.record = record
        self.done = done
        self.buffer = b""
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def data_received(self, data: bytes) -> None:
        if not self.opened.done() and b"\n\n" in data:
            self.opened.set_result(None)
        if not self.sampled:
            return
        lines = (self.buffer + data).split(b"\n")
        self.buffer = lines.pop()
        now = time.monotonic_ns()
        for line in lines:
            if line.startswith(b"data:") and (m := STAMP.search(line)):
                phase = int(m[2])
                if phase == END:
                    self.done.set()
                else:
                    self.record.setdefault(phase, []).append((now - int(m[1])) / 1e6)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.done.set()  # a stream the server cut off will not see the last change
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the first event"))


async def client(port: int, count: int, sample: int) -> None:
    loop = asyncio.get_running_loop()
    record: dict[int, list[float]] = {}
    every = max(1, count // sample)
    dones: list[asyncio.Event] = []
    streams: list[tuple[asyncio.Transport, Drain]] = []
    gate = asyncio.Semaphore(200)
    request = f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    async def one(i: int) -> None:
        done = asyncio.Event()
        sampled = i % every == 0
        if sampled:
            dones.append(done)
        async with gate:
            transport, protocol = await loop.create_connection(
                lambda: Drain(sampled, record, done), "127.0.0.1", port
            )
            transport.write(request)
            await protocol.opened
        streams.append((transport, protocol))

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    print(json.dumps({"seconds": time.monotonic() - started}), flush=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(300):
            await asyncio.gather(*(d.wait() for d in dones))
    phases = {str(k): {"n": len(v), **summary(v)} for k, v in sorted(record.items())}
    for transport, _ in streams:
        transport.close()
    print(json.dumps({"sampled": len(dones), "phases": phases}), flush=True)


# -- the driver ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--clients", default="1000,5000,10000")
    parser.add_argument("--rates", default="10,100,1000", help="changes per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="of changes at each rate")
    parser.add_argument("--sample", type=int, default=25, help="streams whose lines are timed")
    parser.add_argument("--goal", type=float, default=100.0, help="p99 ms")
    parser.add_argument("--server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rate_list = [int(r) for r in args.rates.split(",")]
    if args.client:
        pin(1)
        uvloop.run(client(*args.client))
        return
    if args.server:
        pin(0)
        args.clients_one = args.server
        print(json.dumps(uvloop.run(run_server(args))), flush=True)
        return
    print(
        f"stream scale: {args.apps} apps; at each rate {args.seconds:.0f} s of changes, each to "
        f"a different app; due time -> event line read, timed on {args.sample} streams"
    )
    print("server (uvicorn, uvloop, httptools) on CPU 0, clients (raw asyncio) on CPU 1")
    print(
        f"{'clients':>8}{'changes/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'lines':>9}{'cut':>7}{'server CPU':>12}{'waited':>8}{'client CPU':>12}{'waited':>8}"
        f"   p99 <= {args.goal:.0f} ms"
    )
    for clients in (int(c) for c in args.clients.split(",")):
        started = time.monotonic()
        r = child_result(
            __file__,
            [
                *(f"--server={clients}", f"--apps={args.apps}", f"--rates={args.rates}"),
                *(f"--seconds={args.seconds}", f"--sample={args.sample}"),
            ],
            timeout=600,
        )
        for phase, rate in enumerate(args.rate_list):
            p = r["phases"].get(str(phase), {"n": 0, **summary([])})
            expected = int(rate * args.seconds) * r["sampled"]
            ok = "yes" if p["p99"] <= args.goal and p["n"] == expected else "NO"
            print(
                f"{clients:8d}{rate:11d}{p['p50']:9.1f}{p['p99']:9.1f}{p['max']:9.1f}"
                f"{p['n']:9d}{r['cut'][phase]:7d}{r['busy'][phase]:12.0%}"
                f"{r['waited'][phase]:8.0%}{r['client_busy'][phase]:12.0%}"
                f"{r['client_waited'][phase]:8.0%}   {ok}",
                flush=True,
            )
        print(
            f"{'':8}(opened {clients} streams in {r['open_s']:.1f} s; lines: of "
            f"{r['sampled']} timed streams; cut: streams the server has closed by then; "
            f"{time.monotonic() - started:.0f} s)",
            flush=True,
        )
    print("machine load average (1, 5, 15 min): " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        "CPU: share of one core over each rate's window; waited: share of it the process's "
        "loop was ready to run but queued for a CPU (other processes had it)",
        flush=True,
    )


if __name__ == "__main__":
    main()
