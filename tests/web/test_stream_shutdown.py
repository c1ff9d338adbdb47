"""Streams end promptly on shutdown, so the server can exit with clients connected."""

from __future__ import annotations

import asyncio
import time

from tests.web.conftest import Site


async def test_hub_close_ends_every_open_stream(site: Site) -> None:
    async with site.stream() as one, site.stream() as two, site.stream() as three:
        await site.stream_ready(3)
        site.hub.close()
        for events in (one, two, three):
            await events.wait_ended(timeout=3)

    assert site.hub.clients == 0


async def test_a_stream_opened_after_hub_close_ends_at_once(site: Site) -> None:
    site.hub.close()

    async with site.stream() as events:
        await events.wait_ended(timeout=3)

    assert [e.event for e in events.received] == ["HEARTBEAT"]


async def test_uvicorn_exits_within_seconds_with_streams_open(site: Site) -> None:
    async with site.stream() as one, site.stream() as two:
        await site.stream_ready(2)
        started = time.monotonic()
        site.server.should_exit = True
        async with asyncio.timeout(4):
            await site.task
        elapsed = time.monotonic() - started
        await one.wait_ended(timeout=1)
        await two.wait_ended(timeout=1)

    assert elapsed < 3  # well under timeout_graceful_shutdown (5 s): the streams ended
