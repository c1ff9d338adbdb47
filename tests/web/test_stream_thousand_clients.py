"""1,000 open event streams, 50 of whose clients never read: the other 950 get every event, the
50 are cut off once their backlog fills and their connections are reset, and what they held
is given back once the clients are gone: a second round of the same fits in the memory the first
left (the allocator's high-water mark), so nothing accumulates.

The clients run in a process of their own (`tests.web.streamclients`), so the RSS read here is
the server's alone."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from startpunkt.web import stream
from tests.waiting import eventually
from tests.web.conftest import MakeSite, Site, settings_of

READERS = 950
STALLED = 50
EVENTS = 40
ROOT = Path(__file__).resolve().parents[2]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Clients:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def line(self, timeout: float = 90) -> bytes:
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            return await self.proc.stdout.readline()

    async def command(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def seen(self, last: int) -> dict[str, Any]:
        await self.command(f"expect {last}")
        result: dict[str, Any] = json.loads(await self.line())
        return result


async def one_round(site: Site, first: int) -> tuple[dict[str, Any], list[int], str]:
    """1,000 clients see EVENTS changes; returns what the readers saw, the expected ids, and the
    metrics text, once the stalled ones are cut off and before the readers leave."""
    connections = site.server.server_state.connections
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.web.streamclients"),
        *(str(urlsplit(site.url).port), str(READERS), str(STALLED)),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    clients = Clients(proc)
    try:
        assert await clients.line() == b"ready\n"
        await site.stream_ready(READERS + STALLED)
        expected = []
        for i in range(first, first + EVENTS):  # each adds about 12 KB to every stream
            site.put(f"app{i}", info="x" * 12_000)
            expected.append(site.store.revision)
            await asyncio.sleep(0)
        seen = await clients.seen(expected[-1])
        await site.stream_ready(READERS)  # the stalled ones were let go...
        # ...and their connections reset: only the readers' are left
        await eventually(lambda: len(connections) == READERS, 10, what="stalled ones reset")
        metrics = (await site.get("/metrics")).text
    finally:
        await clients.command("quit")
        async with asyncio.timeout(30):
            await proc.wait()
    await site.stream_ready(0)
    await eventually(lambda: not connections, 10, what="every connection closed")
    return seen, expected, metrics


def cutoffs(metrics: str) -> float:
    found = re.findall(r'startpunkt_stream_cutoffs_total\{reason="\w+"\} (\d+)', metrics)
    return sum(float(n) for n in found)


@pytest.mark.timeout(120)  # opens 2,000 connections: in process, but not quick
async def test_950_readers_get_every_event_while_50_stalled_clients_are_cut_off(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT", 1.0)
    site = await make_site(settings_of(realtime={"maxConnections": 2000}))
    gc.collect()
    idle = rss_kib()

    seen, expected, metrics = await one_round(site, 0)
    gc.collect()
    after_first = rss_kib()
    again, expected_again, metrics_again = await one_round(site, EVENTS)
    gc.collect()
    after_second = rss_kib()

    assert seen == {"sequences": [expected], "ended": 0}  # every event, in order, once
    assert again == {"sequences": [expected_again], "ended": 0}
    assert cutoffs(metrics) == STALLED
    assert cutoffs(metrics_again) == 2 * STALLED
    # The first round leaves the allocator's high-water mark (freed objects' arenas are kept
    # for reuse); a second round of 1,000 clients and 50 stalled backlogs must fit in it, so
    # nothing they held is kept.
    assert after_second - idle < 1.25 * (after_first - idle), (idle, after_first, after_second)
