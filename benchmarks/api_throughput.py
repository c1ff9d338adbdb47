"""REST throughput: `GET /api/apps` against a static-bytes route on the same server, same run.

    .venv/bin/python benchmarks/api_throughput.py [--apps 200] [--seconds 4] [--rounds 3]
                                                  [--connections 64]

The server (the project's: uvicorn + uvloop + httptools, one process, the full app with its
middleware) holds `--apps` applications. `/bench/static` is mounted on the same app and returns
the very bytes `/api/apps` returns, through the middleware stack. `/api/apps` is answered ahead
of that stack from the per-snapshot cache (`web/snapshots.py`), so it can beat the static route.
The load generator is `wrk` (Debian package) in its own process, one thread; without wrk, a
Python keep-alive client.
The server is pinned to CPU 0 and wrk to CPU 1, and the cases are interleaved for `--rounds`
rounds with the median reported: on this 2-core VM one 10 s run of the same route varied by
up to 2x from the next, so single runs compare nothing.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
from pathlib import Path

import httpx
import uvloop
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._web import build_context, serve, stop
from startpunkt.web.app import create_app

WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
TWO_CORES = len(os.sched_getaffinity(0)) >= 2
PIN_LOAD = ["taskset", "-c", "1"] if TWO_CORES and shutil.which("taskset") else []


async def wrk(url: str, args: argparse.Namespace, headers: dict[str, str]) -> tuple[float, float]:
    command = [*PIN_LOAD, "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    text = out.decode()
    rate = WRK_RATE.search(text)
    latencies = {p: float(v) * UNIT_MS[u] for p, v, u in WRK_LATENCY.findall(text)}
    return (float(rate[1]) if rate else 0.0), latencies.get("50", 0.0)


async def python_load(
    url: str, args: argparse.Namespace, headers: dict[str, str]
) -> tuple[float, float]:
    """The fallback generator: keep-alive httpx clients in a child process."""
    code = (
        "import asyncio,httpx,sys,time\n"
        "async def main(url,n,seconds,headers):\n"
        "    done=0\n"
        "    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=n)) as c:\n"
        "        end=time.monotonic()+seconds\n"
        "        async def worker():\n"
        "            nonlocal done\n"
        "            while time.monotonic()<end:\n"
        "                await c.get(url,headers=headers); done+=1\n"
        "        await asyncio.gather(*(worker() for _ in range(n)))\n"
        "    print(done/seconds)\n"
        "asyncio.run(main(sys.argv[1],int(sys.argv[2]),float(sys.argv[3]),"
        "dict(h.split(': ',1) for h in sys.argv[4:])))\n"
    )
    extra = [f"{k}: {v}" for k, v in headers.items()]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        url,
        str(args.connections),
        str(args.seconds),
        *extra,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return float(out.decode().strip() or 0), 0.0


async def run(args: argparse.Namespace) -> None:
    ctx = build_context(args.apps)
    app = create_app(ctx)
    server, task, port = await serve(app, ctx.hub)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            first = await client.get(f"{base}/api/apps")
        body, etag = first.content, first.headers["etag"]

        async def static(request: Request) -> Response:
            return Response(body, media_type="application/json")

        app.router.routes.insert(0, Route("/bench/static", static))
        load = wrk if shutil.which("wrk") and not args.python_client else python_load
        print(
            f"api throughput: {args.apps} apps ({len(body) / 1024:.0f} KiB body), "
            f"{args.connections} connections, {args.seconds} s x {args.rounds} rounds per case, "
            f"load: {'wrk -t1' if load is wrk else 'python'}"
            f"{', server on CPU 0, load on CPU 1' if PIN_LOAD else ''}"
        )
        cases = [
            ("static bytes, same body (baseline)", "/bench/static", {}),
            ("GET /api/apps", "/api/apps", {}),
            ("GET /api/apps?tags=dev", "/api/apps?tags=dev", {}),
            ("GET /api/apps, If-None-Match -> 304", "/api/apps", {"If-None-Match": etag}),
            ("GET /api/apps, brotli (compressed once)", "/api/apps", {"Accept-Encoding": "br"}),
        ]
        warmup = argparse.Namespace(**{**vars(args), "seconds": 1})
        rates: dict[str, list[float]] = {label: [] for label, _, _ in cases}
        p50s: dict[str, list[float]] = {label: [] for label, _, _ in cases}
        for _ in range(args.rounds):
            for label, path, headers in cases:
                await load(base + path, warmup, headers)
                rate, p50 = await load(base + path, args, headers)
                rates[label].append(rate)
                p50s[label].append(p50)
        baseline = statistics.median(rates[cases[0][0]])
        for label, _, _ in cases:
            rate = statistics.median(rates[label])
            runs = " ".join(f"{r:.0f}" for r in rates[label])
            print(
                f"  {label:37} {rate:8.0f} req/s  {rate / baseline:5.2f}x baseline"
                f"  p50 {statistics.median(p50s[label]):6.2f} ms   (runs: {runs})"
            )
    finally:
        await stop(server, task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    args = parser.parse_args()
    if PIN_LOAD:
        os.sched_setaffinity(0, {0})
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
