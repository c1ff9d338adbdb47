"""The connection cap, the off switch, and heartbeats."""

from __future__ import annotations

from tests.web.conftest import MakeSite, settings_of


async def test_over_the_connection_cap_is_a_json_503(make_site: MakeSite) -> None:
    site = await make_site(settings_of(realtime={"maxConnections": 2}))

    async with site.stream(), site.stream():
        await site.stream_ready(2)
        response = await site.get("/api/updates/stream")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["status"] == 503
    assert "maxConnections: 2" in response.json()["error"]


async def test_a_disabled_stream_is_a_json_404_saying_so(make_site: MakeSite) -> None:
    site = await make_site(settings_of(realtime={"enabled": False}))

    response = await site.get("/api/updates/stream")

    assert response.status_code == 404
    assert "realtime.enabled: false" in response.json()["error"]


async def test_a_quiet_stream_gets_heartbeats(make_site: MakeSite) -> None:
    site = await make_site(settings_of(realtime={"heartbeatInterval": "200ms"}))

    async with site.stream() as events:
        first = await events.next()
        site.put("Grafana")
        added = await events.next()
        beat = await events.next(timeout=5)

    assert first.event == "HEARTBEAT"
    assert added.event == "APPLICATION_ADDED"
    assert beat.event == "HEARTBEAT"
    assert beat.id is None
    assert beat.payload["revision"] == 1
