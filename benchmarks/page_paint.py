"""The start page in Chromium at 5,000 apps: navigation start -> the last card painted.

    .venv/bin/python benchmarks/page_paint.py [--apps 5000] [--loads 5] [--runs 3]

`startpunkt serve --manifests DIR` runs as its own process (availability off, pinned to CPU 0)
with `--apps` generated Applications in 40 groups; Debian's Chromium (headless, driven by
Playwright, CPU 1) loads `/` from the server's first-paint cache. In the page, a script added
before any of the page's own waits for the document to be parsed (every card is in the DOM),
scrolls the last card into view, and marks the time once the frame showing it has been painted
(`requestAnimationFrame`, then a task; frame after frame until the card is on screen, as groups
coming into view take their real height). Times are `performance.now()`: from navigation start.

- baseline: the same page and stylesheet with one rule appended that turns `content-visibility`
  off again (every group laid out and painted before the first frame, as before);
- startpunkt: the stylesheet as served (groups off screen are skipped until scrolled to).

Both cases fetch the stylesheet through the same interception, so they pay the same for it.
Prints medians of `--loads` page loads per case, cases interleaved for `--runs` rounds, and the
DOM size; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Route, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
OFF = b"\n.group, .cards { content-visibility: visible !important; }\n"

MEASURE = """
window.__paint = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => {
    const parsed = performance.now();
    const cards = document.querySelectorAll("#apps .card");
    const last = cards[cards.length - 1];
    last.scrollIntoView({ block: "end" });
    let frames = 0;
    const look = () => setTimeout(() => {
      // groups coming into view are rendered and take their real height in a later frame
      frames += 1;
      const box = last.getBoundingClientRect();
      const visible = box.height > 0 && box.top < innerHeight && box.bottom > 0;
      if (!visible && frames < 120) {
        requestAnimationFrame(look);
        return;
      }
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      const nav = performance.getEntriesByType("navigation")[0];
      resolve({
        parsed,
        last: performance.now(),
        frames,
        fcp: fcp ? fcp.startTime : null,
        html: nav.responseEnd,
        cards: cards.length,
        nodes: document.getElementsByTagName("*").length,
        visible,
      });
    });
    requestAnimationFrame(look);
  }, { once: true });
});
"""


def manifests(directory: Path, apps: int) -> None:
    docs = []
    for i in range(apps):
        docs.append(
            "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
            f"metadata: {{name: app-{i:05d}, namespace: ns{i % 50}}}\n"
            f"spec: {{name: App {i}, group: Group {i % 40:02d}, url: https://app-{i}.example/,"
            f" info: Application number {i}, icon: 'mdi:application'"
            f"{', tags: dev' if i % 3 == 0 else ''}}}\n"
        )
    for part in range(0, apps, 500):  # files stay well under manifests.maxFileBytes
        (directory / f"apps-{part:05d}.yaml").write_text("---\n".join(docs[part : part + 500]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(base: str, apps: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("startpunkt serve exited")
        try:
            r = httpx.get(f"{base}/api/apps", timeout=5)
            if (
                r.status_code == 200
                and sum(len(g["applications"]) for g in r.json()["groups"]) >= apps
            ):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError("startpunkt serve did not load the apps in time")


TRACED = (
    "ParseHTML",
    "EvaluateScript",
    "FunctionCall",
    "UpdateLayoutTree",
    "Layout",
    "PrePaint",
    "Paint",
    "Layerize",
    "RasterTask",
)


def trace_summary(trace: bytes) -> str:
    """Milliseconds per event name in the renderer (nested events count in both)."""
    events = json.loads(trace)["traceEvents"]
    totals = dict.fromkeys(TRACED, 0.0)
    for e in events:
        if e.get("name") in totals and e.get("ph") == "X":
            totals[e["name"]] += e.get("dur", 0) / 1000
    return ", ".join(f"{name} {ms:.0f}" for name, ms in totals.items())


def one_load(browser: Any, base: str, css: bytes, trace: Path | None = None) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:

        def stylesheet(route: Route) -> None:
            route.fulfill(status=200, body=css, headers={"content-type": "text/css"})

        context.route("**/statics/app.css*", stylesheet)
        page = context.new_page()
        page.add_init_script(MEASURE)
        if trace:
            browser.start_tracing(page=page, path=str(trace), categories=["devtools.timeline"])
        page.goto(f"{base}/", wait_until="domcontentloaded", timeout=60_000)
        result: dict[str, Any] = page.evaluate("window.__paint")
        if trace:
            result["trace"] = trace_summary(browser.stop_tracing())
        return result
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=5, help="page loads per case and round")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one traced load per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "m").mkdir()
        manifests(directory / "m", args.apps)
        (directory / "config.yaml").write_text("startpunkt:\n  availability:\n    enabled: false\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "startpunkt", "serve", "--manifests", str(directory / "m")]
        command += ["--config", str(directory / "config.yaml"), "--port", str(port)]
        command += ["--log-level", "warning"]
        if len(os.sched_getaffinity(0)) >= 2:
            command = ["taskset", "-c", "0", *command]
            os.sched_setaffinity(0, {1})
        server = subprocess.Popen(command, cwd=ROOT)
        try:
            wait_ready(base, args.apps, server)
            page = httpx.get(f"{base}/", timeout=30)
            css = httpx.get(f"{base}/statics/app.css", timeout=30).content
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                cases = [
                    ("whole page rendered at once (baseline)", css + OFF),
                    ("startpunkt, off-screen groups skipped", css),
                ]
                for _, sheet in cases:  # warm: caches, compile
                    one_load(browser, base, sheet)
                print(
                    f"page paint: {args.apps} apps in 40 groups, GET / {len(page.content)} "
                    f"bytes, Chromium headless 1280x800, median of {args.loads} loads"
                )
                print(
                    f"{'':42}{'HTML ms':>9}{'FCP ms':>9}{'parsed ms':>11}{'last card ms':>14}"
                    f"{'frames':>8}   DOM nodes"
                )
                for round_ in range(1, args.runs + 1):
                    for label, sheet in cases:
                        loads = [one_load(browser, base, sheet) for _ in range(args.loads)]
                        if not all(r["visible"] and r["cards"] >= args.apps for r in loads):
                            raise RuntimeError(f"{label}: the last card was not on screen")
                        html = statistics.median(r["html"] for r in loads)
                        fcp = statistics.median(r["fcp"] or float("nan") for r in loads)
                        parsed = statistics.median(r["parsed"] for r in loads)
                        last = statistics.median(r["last"] for r in loads)
                        print(
                            f"{label:42}{html:9.0f}{fcp:9.0f}{parsed:11.0f}{last:14.0f}"
                            f"{max(r['frames'] for r in loads):8d}"
                            f"   {loads[0]['nodes']}  (run {round_})",
                            flush=True,
                        )
                print(
                    "frames: after the scroll until the last card was on screen (most of the loads)"
                )
                print(
                    "machine load average (1, 5, 15 min): "
                    + " ".join(f"{x:.1f}" for x in os.getloadavg())
                )
                if args.profile:
                    print("renderer main thread, ms per trace event (one load each):")
                    for label, sheet in cases:
                        traced = one_load(browser, base, sheet, directory / "trace.json")
                        print(f"  {label}: {traced['trace']}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
