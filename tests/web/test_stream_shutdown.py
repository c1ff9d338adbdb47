"""Streams end promptly on shutdown, so the server can exit with clients connected."""

from __future__ import annotations

import asyncio
import signal

from tests.web.conftest import MakeSite, Site


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


async def test_the_servers_exit_handler_ends_open_streams_cleanly(make_site: MakeSite) -> None:
    # a graceful period far beyond the deadline: only the exit handler's own path can pass
    site = await make_site(graceful=600)
    async with site.stream() as one, site.stream() as two:
        await site.stream_ready(2)
        site.server.handle_exit(signal.SIGTERM, None)
        async with asyncio.timeout(20):
            await site.task
        await one.wait_ended(timeout=1)
        await two.wait_ended(timeout=1)

    # each response was complete (its final chunk arrived), not cut off
    assert [e.event for e in one.received] == ["HEARTBEAT"]
    assert one.complete
    assert two.complete
    assert site.hub.clients == 0
