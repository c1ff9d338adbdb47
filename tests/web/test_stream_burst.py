"""A burst of changes is coalesced per item, never dropped: the final state always arrives."""

from __future__ import annotations

import asyncio

from tests.web.conftest import Site


async def test_a_burst_of_1000_updates_to_one_app_delivers_the_final_state(site: Site) -> None:
    site.put("Grafana", info="start")

    async with site.stream("?lastEventId=1") as events:
        await site.stream_ready(1)
        for i in range(1000):
            site.put("Grafana", info=f"update {i}")
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the stream write some of it meanwhile
        final = str(site.ctx.catalog.revision)
        seen = await events.changes_until(lambda e: e.id == final)

    ids = [int(e.id or 0) for e in seen]
    assert ids == sorted(set(ids))  # in order, nothing twice
    assert seen[-1].event == "APPLICATION_UPDATED"
    assert seen[-1].payload["info"] == "update 999"
    assert len(seen) < 1000  # a backlog was coalesced, not queued event by event
