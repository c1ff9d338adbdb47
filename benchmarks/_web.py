"""Shared by the web benchmarks: a populated site on a loopback port, a bare asyncio fan-out
server as the baseline, and cheap SSE clients.

Clients run in a child process (`python -m benchmarks._web latency|hold ...`) so the server has
its own core; they speak just enough HTTP/1.1 and SSE over raw asyncio streams (uvloop) to stay
cheap at 5,000 connections. Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from startpunkt.config import ServerLimits, Settings
from startpunkt.events import Hub
from startpunkt.model import Application, ObjectRef, Outcome
from startpunkt.store import Store
from startpunkt.web import serving
from startpunkt.web.context import WebContext

ROOT = Path(__file__).resolve().parents[1]
STREAM = "/api/updates/stream"
STAMP = re.compile(rb"t=(\d+)")

# -- the server side -----------------------------------------------------------------------


def app_object(i: int, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Application",
        "metadata": {"namespace": f"ns{i % 50}", "name": f"app-{i}"},
        "spec": {
            "name": f"App {i}",
            "group": f"Group {i % 40}",
            "url": f"https://app-{i}.apps.example.com/",
            "info": f"Application number {i}",
            "icon": "mdi:application",
            "tags": ("dev",) if i % 3 == 0 else (),
            **spec,
        },
    }


def mapper(source: str, obj: Mapping[str, Any]) -> Outcome:
    meta, spec = obj["metadata"], obj["spec"]
    app = Application(
        key=f"{source}/{meta['namespace']}/{meta['name']}",
        name=spec["name"],
        group=spec["group"],
        url=spec["url"],
        source=source,
        namespace=meta["namespace"],
        resource_name=meta["name"],
        icon=spec["icon"],
        info=spec["info"],
        tags=tuple(spec["tags"]),
    )
    return Outcome.shown(ObjectRef("Application", meta["namespace"], meta["name"]), app)


def build_store(apps: int) -> Store:
    store = Store(mapper)
    store.replace("startpunkt", [app_object(i) for i in range(apps)], quiet=True)
    return store


def build_context(
    apps: int, settings: Settings | None = None, store: Store | None = None
) -> WebContext:
    """The web layer over `store` (or a new one with `apps` apps)."""
    settings = settings or Settings()
    catalog = (store or build_store(apps)).catalog
    realtime = settings.realtime
    hub = Hub(
        catalog,
        replay=realtime.replay_buffer,
        client_queue=realtime.client_queue,
        max_clients=realtime.max_connections,
    )
    return WebContext(settings=settings, catalog=catalog, hub=hub, version="bench")


async def serve(app: Starlette, hub: Hub) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """The project's own server (uvicorn, httptools, its limits), as `startpunkt serve` runs it."""
    config = serving.config(
        app,
        ServerLimits(),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=8192,
        timeout_graceful_shutdown=3,
    )
    server = serving.Server(config, hub)
    task = asyncio.create_task(server.serve(), name="uvicorn")
    await until(lambda: server.started or task.done(), 20)
    if task.done():
        task.result()
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def until(condition: Callable[[], bool], seconds: float) -> None:
    """Polls `condition` (counts owned by other code have no event to wait on)."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await task


class RawFanout:
    """The floor: a bare asyncio server writing pre-encoded frames to every socket."""

    HEAD = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
        b"connection: close\r\n\r\n"
    )

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.HEAD + self.first)
            self.writers.add(writer)
            await reader.read()  # until the client leaves
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    def broadcast(self, frame: bytes) -> None:
        for writer in list(self.writers):
            writer.write(frame)


def child_result(script: str, args: list[str], *, timeout: float = 300) -> Any:
    """Run `script` with `args` in a fresh interpreter; its last output line is a JSON result."""
    out = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True, timeout=timeout
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def pin(cpu: int) -> str:
    """Pins this process to one CPU when there are two or more; returns a note for the output."""
    if len(os.sched_getaffinity(0)) < 2:
        return "unpinned"
    os.sched_setaffinity(0, {cpu})
    return f"CPU {cpu}"


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def summary(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered
    pick = (lambda p: q[p - 1]) if len(ordered) > 1 else (lambda p: ordered[0])
    return {"p50": pick(50), "p90": pick(90), "p99": pick(99), "max": ordered[-1]}


def spawn_args(mode: str, *args: object) -> list[str]:
    return [sys.executable, "-m", "benchmarks._web", mode, *map(str, args)]


# -- the client side (a child process) --------------------------------------------------------


async def open_stream(
    port: int, path: str = STREAM
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connects, sends the request, and returns once the first event (the heartbeat) is in."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode(errors="replace").splitlines()[0])
    while (await reader.readline()).strip():
        pass  # skip through the end of the first event block
    return reader, writer


async def open_many(port: int, count: int, path: str = STREAM) -> list[Any]:
    gate = asyncio.Semaphore(200)

    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with gate:
            return await open_stream(port, path)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def latency_client(port: int, clients: int, events: int, seconds: float) -> None:
    """Prints `ready`, then one JSON line: latency (write stamp -> line read) of every event."""
    streams = await open_many(port, clients)
    print("ready", flush=True)
    latencies: list[float] = []
    counts = [0] * clients

    async def read(index: int, reader: asyncio.StreamReader) -> None:
        while counts[index] < events:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data:") and (m := STAMP.search(line)):
                latencies.append((time.monotonic_ns() - int(m[1])) / 1e6)
                counts[index] += 1

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.gather(*(read(i, r) for i, (r, _) in enumerate(streams)))
    for _, writer in streams:
        writer.close()
    result = {"delivered": len(latencies), "expected": clients * events, **summary(latencies)}
    print(json.dumps(result), flush=True)


async def hold_client(port: int) -> None:
    """Reads `open N` / `quit` from stdin; keeps every stream open and drained."""
    streams: list[Any] = []
    drains: list[asyncio.Task[bytes]] = []
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command or command[0] == "quit":
            break
        started = time.monotonic()
        more = await open_many(port, int(command[1]))
        streams += more
        drains += [asyncio.create_task(reader.read()) for reader, _ in more]
        print(f"opened {len(streams)} {time.monotonic() - started:.2f}", flush=True)
    for task in drains:
        task.cancel()
    for _, writer in streams:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    latency = sub.add_parser("latency")
    latency.add_argument("port", type=int)
    latency.add_argument("clients", type=int)
    latency.add_argument("events", type=int)
    latency.add_argument("seconds", type=float)
    hold = sub.add_parser("hold")
    hold.add_argument("port", type=int)
    args = parser.parse_args()
    pin(1)  # the server side pins itself to CPU 0
    if args.mode == "latency":
        uvloop.run(latency_client(args.port, args.clients, args.events, args.seconds))
    else:
        uvloop.run(hold_client(args.port))


if __name__ == "__main__":
    main()
