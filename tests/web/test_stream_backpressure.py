"""Slow and stalled clients are cut off without delaying anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from startpunkt.web import stream
from tests.waiting import eventually
from tests.web.conftest import MakeSite, Site, settings_of


@contextlib.asynccontextmanager
async def stalled_client(site: Site) -> AsyncIterator[socket.socket]:
    """Opens the stream over a raw socket with a tiny receive buffer, then never reads."""
    url = urlsplit(site.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (url.hostname, url.port))
        request = f"GET {stream.PATH} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        yield sock
    finally:
        sock.close()


async def test_a_stalled_client_is_cut_off_while_another_gets_every_event(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT", 0.5)
    big = "x" * 32_000  # fills the stalled socket's buffers in a few events

    async with site.stream() as healthy, stalled_client(site):
        await site.stream_ready(2)
        expected: list[str] = []
        for i in range(120):
            site.put(f"app{i}", info=big)
            expected.append(str(site.ctx.catalog.revision))
            await asyncio.sleep(0)
        seen = await healthy.changes_until(lambda e: e.id == expected[-1], timeout=20)
        await site.stream_ready(1)  # the stalled one is gone
        site.put("after")
        after = await healthy.next_change()

    assert [e.id for e in seen] == expected
    assert (after.event, after.id) == ("APPLICATION_ADDED", str(site.ctx.catalog.revision))
    metrics = (await site.get("/metrics")).text
    assert 'startpunkt_stream_cutoffs_total{reason="stalled"} 1.0' in metrics


async def test_a_client_whose_backlog_overflows_gets_resync_and_is_disconnected(
    make_site: MakeSite,
) -> None:
    site = await make_site(settings_of(realtime={"clientQueue": 8}))

    async with site.stream() as events, site.stream() as other:
        await events.next()
        await other.next()
        # one synchronous listing: 20 distinct items pending before any stream can write
        site.feed.replace(
            "startpunkt",
            [
                {"kind": "Application", "metadata": {"namespace": "default", "name": f"a{i}"},
                 "spec": {"name": f"a{i}", "group": "G", "url": f"https://a{i}.example"}}
                for i in range(20)
            ],
        )  # fmt: skip
        resync = await events.next_change()
        await events.wait_ended()

    assert resync.event == "RESYNC"
    assert resync.payload == {"revision": 20}
    await eventually(lambda: site.hub.clients == 0, 5, what="both streams to be closed")
