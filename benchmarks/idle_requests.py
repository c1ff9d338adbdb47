"""Idle cost to the API server: discovery requests a minute, every source on, CRDs absent.

    .venv/bin/python -m benchmarks.idle_requests [--seconds 60] [--recheck 30] [--rounds 1]

Runs `startpunkt serve` as a process against the real kube-apiserver (the tests' harness) with
every source switched on (Startpunkt, Hajimari, OpenShift Route, Ingress, Istio, Gateway API,
and EndpointSlices for availability) and none of the optional CRDs installed, through a proxy
that records every request (`tests/kube/faultproxy.py`). Once `/readyz` answers 200 (every
source synced or absent), it counts the discovery GETs (`/api`, `/apis`, `/apis/<group>` and
`/apis/<group>/<version>`) and all requests for `--seconds`. Then it installs Hajimari's
Application CRD and times how long after the API is served Startpunkt reports that source
synced in `/api/sources` (it should be within one re-check period), and deletes it again.

- baseline: the same command on the code before the shared re-check (`--baseline-ref`, a git
  commit whose `src/` is exported with `git archive` and put first on PYTHONPATH), where every
  absent source asked for each of its candidate group versions every re-check period;
- startpunkt: this tree, where one `/apis` read per period answers every absent source.

A shorter `--recheck` with a proportionally shorter `--seconds` gives the same per-period
figures faster; the per-minute column is then also given at the 30 s default.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from tests.kube.counting import is_discovery
from tests.kube.faultproxy import FaultProxy
from tests.kubecluster import KubeCluster, wait_for

ROOT = Path(__file__).resolve().parents[1]
FOREIGN_CRDS = ROOT / "tests" / "data" / "foreign-crds" / "crds.yaml"
LATE_CRD = "applications.hajimari.io"
LATE_SOURCE = "hajimari-application"
# main before the shared discovery re-check: one discovery reader per reflector
BASELINE_REF = "dfe36741760be7de991022f79713fab66adb3617"
DEFAULT_RECHECK = 30.0
HOMEPAGE_IDLE = "0 (from the issue: Homepage makes no requests while idle)"

CONFIG = """\
startpunkt:
  namespaceSelector: {{any: true}}
  openshift: {{enabled: true}}
  hajimari: {{enabled: true}}
  istio: {{virtualservice: {{enabled: true}}}}
  gatewayapi: {{httproute: {{enabled: true}}}}
  ingress: {{enabled: true}}
  availability: {{enabled: true}}
  watch: {{absentRecheck: {recheck}s}}
"""

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{{name: proxy, cluster: {{server: "{server}"}}}}]
users: [{{name: bench, user: {{token: the-proxy-authenticates}}}}]
contexts: [{{name: proxy, context: {{cluster: proxy, user: bench}}}}]
current-context: proxy
"""


def export_baseline(ref: str, into: Path) -> Path:
    """`src/` of `ref`, exported from git into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_ready(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"startpunkt exited early:\n{tail(log)}")
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"startpunkt was not ready:\n{tail(log)}")
            await asyncio.sleep(0.2)


def install_late_crd(cluster: KubeCluster) -> None:
    """Hajimari's Application CRD; returns once the API is served."""
    docs = yaml.safe_load_all(FOREIGN_CRDS.read_text())
    cluster.api.apply(next(d for d in docs if d["metadata"]["name"] == LATE_CRD))


def delete_late_crd(cluster: KubeCluster) -> None:
    """Deletes it and waits until `/apis` no longer lists its group."""
    cluster.api.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{LATE_CRD}")
    group = LATE_CRD.split(".", 1)[1]

    def gone() -> bool:
        groups = cluster.api.get("/apis")["groups"]
        return all(g["name"] != group for g in groups)

    wait_for(gone, timeout=60, what=f"{LATE_CRD} to be deleted")


async def picked_up(url: str, cluster: KubeCluster, recheck: float) -> float:
    """Seconds from the late CRD being served to its source being synced."""
    await asyncio.to_thread(install_late_crd, cluster)
    served = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() - served < recheck * 5:
                sources = (await client.get(url + "/api/sources")).json()["sources"]
                if any(s["source"] == LATE_SOURCE and s["state"] == "synced" for s in sources):
                    return time.monotonic() - served
                await asyncio.sleep(0.05)
        return float("inf")
    finally:
        await asyncio.to_thread(delete_late_crd, cluster)


async def measure(
    cluster: KubeCluster, workdir: Path, pythonpath: Path | None, recheck: float, seconds: float
) -> tuple[int, int, collections.Counter[str], float]:
    """(discovery GETs, all requests, discovery paths) in `seconds` after ready, and the
    seconds until an API installed afterwards was watched."""
    async with FaultProxy(cluster.server, str(cluster.ca_file), cluster.admin_token) as proxy:
        config = workdir / "startpunkt.yaml"
        config.write_text(CONFIG.format(recheck=recheck))
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG.format(server=proxy.url))
        env = dict(os.environ)
        if pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(pythonpath), env.get("PYTHONPATH")])
            )
        port = free_port()
        log = workdir / "startpunkt.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "startpunkt", "serve", "--config", str(config)),
                *("--kubeconfig", str(kubeconfig), "--port", str(port), "--log-level", "warning"),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(url, process, log)
            since = asyncio.get_running_loop().time()
            await asyncio.sleep(seconds)  # the measured idle window
            window = [
                (path, watch)
                for at, path, watch in proxy.faults.requests
                if since <= at < since + seconds
            ]
            pickup = await picked_up(url, cluster, recheck)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    discovery = collections.Counter(p for p, watch in window if not watch and is_discovery(p))
    return sum(discovery.values()), len(window), discovery, pickup


def row(label: str, reads: int, total: int, pickup: float, seconds: float, recheck: float) -> str:
    per_period = reads * recheck / seconds
    per_minute = reads * 60 / seconds
    at_default = f"{per_period * 60 / DEFAULT_RECHECK:10.1f}" if recheck != DEFAULT_RECHECK else ""
    return (
        f"{label:<44}{reads:>9}{per_period:>12.1f}{per_minute:>12.1f}{at_default:>12}{total:>10}"
        f"{pickup:>12.1f}"
    )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, KubeCluster(Path(tmp) / "cluster") as cluster:
        variants: list[tuple[str, Path | None]] = []
        if args.baseline_ref:
            baseline_dir = Path(tmp) / "baseline"
            baseline_dir.mkdir()
            label = f"startpunkt at {args.baseline_ref[:7]} (baseline)"
            variants.append((label, export_baseline(args.baseline_ref, baseline_dir)))
        variants.append(("startpunkt, one shared /apis re-check", None))
        default_column = "  at 30 s" if args.recheck != DEFAULT_RECHECK else ""
        print(
            f"idle discovery requests: every source on, optional CRDs absent, "
            f"re-check {args.recheck:g} s, {args.seconds:g} s window after /readyz, "
            f"{args.rounds} round(s)"
        )
        print(
            f"{'':<44}{'discovery':>9}{'per period':>12}{'per minute':>12}"
            f"{default_column:>12}{'all reqs':>10}{'new API, s':>12}"
        )
        for round_ in range(args.rounds):
            for label, pythonpath in variants:
                workdir = Path(tmp) / f"run-{round_}-{len(label)}"
                workdir.mkdir()
                reads, total, paths, pickup = await measure(
                    cluster, workdir, pythonpath, args.recheck, args.seconds
                )
                print(row(label, reads, total, pickup, args.seconds, args.recheck), flush=True)
                if args.paths:
                    for path, count in paths.most_common():
                        print(f"    {count:>5}  {path}")
        apis = cluster.api.request("GET", "/apis").content
        print(f"one /apis read: {len(apis) / 1024:.1f} KiB of JSON")
        print(f"Homepage, idle: {HOMEPAGE_IDLE}")
        print(
            "new API, s: from Hajimari's Application CRD being served to that source being "
            "reported synced"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window (default 60)")
    parser.add_argument(
        "--recheck", type=float, default=DEFAULT_RECHECK, help="watch.absentRecheck in seconds"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--baseline-ref",
        default=BASELINE_REF,
        help="git commit to run as the baseline ('' to skip it)",
    )
    parser.add_argument("--paths", action="store_true", help="print the discovery paths read")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
