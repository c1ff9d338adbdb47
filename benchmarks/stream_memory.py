"""Server memory with open event streams: RSS with 0, 1,000 and 5,000 idle SSE clients.

    .venv/bin/python benchmarks/stream_memory.py [--apps 5000] [--steps 1000 5000]

Each variant runs in a fresh child process (pinned to CPU 0) holding `--apps` applications; a
grandchild process (CPU 1) opens streams over raw sockets, reads each stream's first event, and
keeps draining them. RSS (VmRSS) is read after a `gc.collect()` once the server has registered
every stream; then one change is broadcast to all of them and RSS is read again.

- baseline: a bare asyncio server holding the same sockets (the kernel and event loop alone);
- startpunkt: the full app on the project's server (uvicorn, Hub subscriptions, stream writers).

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._web import (
    ROOT,
    RawFanout,
    app_object,
    build_context,
    build_store,
    child_result,
    pin,
    rss_mib,
    serve,
    spawn_args,
    stop,
    until,
)
from startpunkt.web.app import create_app


class Clients:
    """The grandchild process that opens and holds the streams."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, port: int) -> Clients:
        proc = await asyncio.create_subprocess_exec(
            *spawn_args("hold", port),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def open(self, more: int) -> float:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"open {more}\n".encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(180):
            line = (await self.proc.stdout.readline()).split()
        if not line or line[0] != b"opened":
            raise RuntimeError(f"clients failed: {line!r}")
        return float(line[2])

    async def quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"quit\n")
        await self.proc.stdin.drain()
        async with asyncio.timeout(30):
            await self.proc.wait()


def measure() -> float:
    gc.collect()
    return rss_mib()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    if args.variant == "startpunkt":
        store = build_store(args.apps)
        ctx = build_context(args.apps, store=store)
        server, task, port = await serve(create_app(ctx), ctx.hub)

        def count() -> int:
            return ctx.hub.clients

        def broadcast() -> None:
            store.apply("startpunkt", "MODIFIED", app_object(1, info="changed"))
    else:
        fanout = RawFanout(b"data: {}\n\n")
        raw = await asyncio.start_server(fanout.handle, "127.0.0.1", 0, backlog=8192)
        port = raw.sockets[0].getsockname()[1]
        frame = b"data: " + json.dumps(app_object(1)).encode()

        def count() -> int:
            return len(fanout.writers)

        def broadcast() -> None:
            fanout.broadcast(frame + b"\n\n")

    def reached(wanted: int) -> bool:
        return count() >= wanted

    clients = await Clients.start(port)
    try:
        rows["0"] = {"rss": measure(), "open_s": 0.0}
        opened = 0
        for step in args.steps:
            seconds = await clients.open(step - opened)
            opened = step
            await until(functools.partial(reached, opened), 60)
            rows[str(step)] = {"rss": measure(), "open_s": seconds}
        broadcast()
        await asyncio.sleep(1)  # let every stream write it (a bounded, one-off settle)
        rows["after_broadcast"] = {"rss": measure(), "open_s": 0.0}
        await clients.quit()
    finally:
        if args.variant == "startpunkt":
            await stop(server, task)
        else:
            raw.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3, help="rounds of both variants, interleaved")
    parser.add_argument("--variant", choices=["baseline", "startpunkt"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        pin(0)
        print(json.dumps(uvloop.run(run(args))), flush=True)
        return
    print(f"stream memory: server RSS (MiB) with N open, idle SSE streams; {args.apps} apps")
    header = "".join(f"{'N=' + str(n):>10}" for n in [0, *args.steps])
    print(f"{'':34}{header}{'+1 event':>10}   KiB/stream")
    child_args = [f"--apps={args.apps}", "--steps", *map(str, args.steps)]
    for round_ in range(1, args.runs + 1):
        for variant, label in (
            ("baseline", "bare asyncio sockets (baseline)"),
            ("startpunkt", "startpunkt SSE"),
        ):
            started = time.monotonic()
            rows = child_result(__file__, [*child_args, "--variant", variant])
            cells = "".join(f"{rows[str(n)]['rss']:10.1f}" for n in [0, *args.steps])
            last = args.steps[-1]
            per = (rows[str(last)]["rss"] - rows["0"]["rss"]) * 1024 / last
            opening = sum(rows[str(n)]["open_s"] for n in args.steps)
            took = time.monotonic() - started
            print(
                f"{label:34}{cells}{rows['after_broadcast']['rss']:10.1f}   {per:7.1f}"
                f"   (opened {last} in {opening:.1f} s; run {round_}, {took:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
