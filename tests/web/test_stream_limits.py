"""The connection cap, the off switch, and heartbeats."""

from __future__ import annotations

from tests.web.conftest import MakeSite, Site, settings_of


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


async def test_head_answers_headers_only_and_keeps_no_subscription(site: Site) -> None:
    response = await site.client.head("/api/updates/stream")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""
    await site.stream_ready(0)


async def test_without_watching_idle_streams_refresh_the_store(make_site: MakeSite) -> None:
    calls = 0

    async def refresh() -> None:  # what a LIST behind the cache would find
        nonlocal calls
        calls += 1
        if calls == 2:
            site.put("Found")

    settings = settings_of(watch={"enabled": False}, realtime={"heartbeatInterval": "100ms"})
    site = await make_site(settings, refresh=refresh)

    async with site.stream() as events:
        found = await events.next_change()

    assert (found.event, found.payload["name"]) == ("APPLICATION_ADDED", "Found")


async def test_an_open_stream_forbids_content_sniffing(site: Site) -> None:
    async with site.stream() as events:
        await events.next()

    assert events.response.headers.get_list("x-content-type-options") == ["nosniff"]
