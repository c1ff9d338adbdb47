"""Event-stream latency: from a store write to the event arriving at 1,000 SSE clients.

    .venv/bin/python benchmarks/stream_latency.py [--apps 5000] [--clients 1000]
                                                  [--writes 100] [--interval 0.05]

Each variant runs in a fresh child process: the server (uvicorn + uvloop + httptools, in the
child's loop, pinned to CPU 0) holds `--apps` applications, and a grandchild process (CPU 1)
opens `--clients` streams. The server then updates one app per `--interval`, stamping
`time.monotonic_ns()` into the app's `info` just before the write; clients note when the line
carrying it is read. Both processes share the machine's monotonic clock.

- baseline: a bare asyncio server writing the same pre-encoded frame to every socket (the cost
  of the kernel and the event loop alone);
- startpunkt: Store.apply -> Hub (one chunk per loop iteration) -> each connection's transport
  (or its backlog and writer, when it cannot take the bytes at once), on the project's server.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
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
    serve,
    spawn_args,
    stop,
    until,
)
from startpunkt.events import encode
from startpunkt.web.app import create_app


async def clients_ready(port: int, args: argparse.Namespace) -> asyncio.subprocess.Process:
    deadline = args.writes * args.interval + 60
    proc = await asyncio.create_subprocess_exec(
        *spawn_args("latency", port, args.clients, args.writes, deadline),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(120):
        line = await proc.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"clients failed: {line!r}")
    return proc


async def result_of(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    async with asyncio.timeout(180):
        line = await proc.stdout.readline()
        await proc.wait()
    result: dict[str, Any] = json.loads(line)
    return result


async def run_startpunkt(args: argparse.Namespace) -> dict[str, Any]:
    store = build_store(args.apps)
    ctx = build_context(args.apps, store=store)
    server, task, port = await serve(create_app(ctx), ctx.hub)
    try:
        proc = await clients_ready(port, args)
        await until(lambda: ctx.hub.clients >= args.clients, 60)
        for k in range(args.writes):
            obj = app_object(k, info=f"t={time.monotonic_ns()}")
            store.apply("startpunkt", "MODIFIED", obj)
            await asyncio.sleep(args.interval)
        return await result_of(proc)
    finally:
        await stop(server, task)


async def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    store = build_store(args.apps)  # no hub: one encoding per event, as the hub does
    fanout = RawFanout(b"data: {}\n\n")
    server = await asyncio.start_server(fanout.handle, "127.0.0.1", 0, backlog=8192)
    port = server.sockets[0].getsockname()[1]
    try:
        proc = await clients_ready(port, args)
        await until(lambda: len(fanout.writers) >= args.clients, 60)
        for k in range(args.writes):
            obj = app_object(k, info=f"t={time.monotonic_ns()}")
            changes = store.apply("startpunkt", "MODIFIED", obj)
            for change in changes:
                fanout.broadcast(encode(change).message)
            await asyncio.sleep(args.interval)
        return await result_of(proc)
    finally:
        server.close()
        for writer in list(fanout.writers):
            writer.close()


def child(args: argparse.Namespace) -> None:
    pin(0)
    run = run_baseline if args.variant == "baseline" else run_startpunkt
    print(json.dumps(uvloop.run(run(args))), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3, help="rounds of both variants, interleaved")
    parser.add_argument("--variant", choices=["baseline", "startpunkt"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        child(args)
        return
    print(
        f"stream latency: {args.apps} apps, {args.clients} SSE clients, {args.writes} writes "
        f"{args.interval * 1000:.0f} ms apart; store write -> event line read by the client"
    )
    print("server (uvicorn, uvloop, httptools) on CPU 0, clients (raw asyncio) on CPU 1")
    print(f"{'':34}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}   delivered")
    child_args = [f"--apps={args.apps}", f"--clients={args.clients}"]
    child_args += [f"--writes={args.writes}", f"--interval={args.interval}"]
    for run in range(1, args.runs + 1):
        for variant, label in (
            ("baseline", "bare asyncio fan-out (baseline)"),
            ("startpunkt", "startpunkt SSE"),
        ):
            started = time.monotonic()
            r = child_result(__file__, [*child_args, "--variant", variant])
            took = time.monotonic() - started
            print(
                f"{label:34}{r['p50']:9.1f}{r['p90']:9.1f}{r['p99']:9.1f}{r['max']:9.1f}"
                f"   {r['delivered']}/{r['expected']}  (run {run}, {took:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
