"""The start page's first paint: `GET /` rendered per request against the per-snapshot cache.

    .venv/bin/python benchmarks/page_first_paint.py [--apps 5000] [--requests 30] [--runs 3]

One process (the project's server, uvicorn + uvloop + httptools, pinned to CPU 0) holds `--apps`
applications; a keep-alive httpx client in the same loop asks for the page `--requests` times
per case, one request at a time, and the cases are interleaved for `--runs` rounds.

- baseline: `GET /?render=1`, which the cache never answers (a query), so the route renders
  the page every time, as it did before the cache;
- startpunkt: `GET /` from the cache, uncompressed and with `Accept-Encoding: br`.

Prints the time to the whole response and the bytes on the wire; asserts nothing. Chromium's
time to the last card is not measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._web import build_context, serve, stop
from startpunkt.web.app import create_app


async def case(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int
) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(n):
        started = time.perf_counter()
        async with client.stream("GET", path, headers=headers) as response:
            size = sum([len(chunk) async for chunk in response.aiter_raw()])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


async def run(args: argparse.Namespace) -> None:
    ctx = build_context(args.apps)
    server, task, port = await serve(create_app(ctx), ctx.hub)
    cases = [
        ("render per request (baseline)", "/?render=1", {"Accept-Encoding": "identity"}),
        ("startpunkt first paint, cached", "/", {"Accept-Encoding": "identity"}),
        ("startpunkt first paint, cached, br", "/", {"Accept-Encoding": "br"}),
    ]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _, path, headers in cases:  # warm: render, keep, compress
                for _ in range(3):
                    await case(client, path, headers, 1)
                await asyncio.sleep(1)
            print(
                f"first paint: {args.apps} apps, {args.requests} requests per case, one at a time"
            )
            print(f"{'':38}{'p50 ms':>9}{'bytes':>11}")
            for round_ in range(1, args.runs + 1):
                for label, path, headers in cases:
                    p50, size = await case(client, path, headers, args.requests)
                    print(f"{label:38}{p50:9.1f}{size:11d}   (run {round_})", flush=True)
    finally:
        await stop(server, task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
