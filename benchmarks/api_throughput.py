"""REST throughput: `GET /api/apps` against a static-bytes route on the same server, same run.

    .venv/bin/python benchmarks/api_throughput.py [--apps 1000] [--seconds 10]
                                                  [--connections 64]

The server (uvicorn + uvloop + httptools, one process, the full app with its middleware) holds
`--apps` applications. `/bench/static` is mounted on the same app and returns the very bytes
`/api/apps` returns, so the ratio is the cost of the handler itself (refresh, snapshot, cached
document lookup, ETag, conditional response) over the framework floor. The load generator is
`wrk` (Debian package) in its own process, one thread; without wrk, a Python keep-alive client.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import time
from pathlib import Path

import httpx
import uvloop
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._web import build_context, serve, stop  # noqa: E402
from startpunkt.web.app import create_app  # noqa: E402

WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


async def wrk(url: str, args: argparse.Namespace, headers: dict[str, str]) -> tuple[float, str]:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    text = out.decode()
    rate = WRK_RATE.search(text)
    latencies = {p: float(v) * UNIT_MS[u] for p, v, u in WRK_LATENCY.findall(text)}
    detail = f"p50 {latencies.get('50', 0):.2f} ms  p99 {latencies.get('99', 0):.2f} ms"
    return (float(rate[1]) if rate else 0.0), detail


async def python_load(
    url: str, args: argparse.Namespace, headers: dict[str, str]
) -> tuple[float, str]:
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
    return float(out.decode().strip() or 0), "(python client)"


async def run(args: argparse.Namespace) -> None:
    ctx = build_context(args.apps)
    app = create_app(ctx)
    server, task, port = await serve(app)
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
            f"{args.connections} connections, {args.seconds} s each, "
            f"load: {'wrk -t1' if load is wrk else 'python'}"
        )
        cases = [
            ("static bytes, same size (baseline)", "/bench/static", {}),
            ("GET /api/apps", "/api/apps", {}),
            ("GET /api/apps?tags=dev", "/api/apps?tags=dev", {}),
            ("GET /api/apps, If-None-Match -> 304", "/api/apps", {"If-None-Match": etag}),
        ]
        baseline = 0.0
        for label, path, headers in cases:
            await load(base + path, argparse.Namespace(**{**vars(args), "seconds": 1}), headers)
            started = time.monotonic()
            rate, detail = await load(base + path, args, headers)
            baseline = baseline or rate
            print(
                f"  {label:38} {rate:9.0f} req/s  {rate / baseline:5.2f}x baseline  {detail}"
                f"  ({time.monotonic() - started:.0f} s)"
            )
    finally:
        await stop(server, task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
