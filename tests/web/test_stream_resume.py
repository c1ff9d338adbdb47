"""Last-Event-ID: a reconnecting client gets exactly what it missed, or one RESYNC."""

from __future__ import annotations

from tests.web.conftest import MakeSite, Site, settings_of


async def test_reconnecting_with_last_event_id_replays_exactly_the_missed_events(
    site: Site,
) -> None:
    async with site.stream() as events:
        await events.next()
        for name in ("a", "b", "c"):
            site.put(name)
        seen = await events.changes_until(lambda e: e.id == "3")
    last = seen[-1].id
    assert last == "3"

    site.put("d")
    site.put("a", info="changed")
    site.remove("b")

    async with site.stream(headers={"Last-Event-ID": last}) as events:
        missed = await events.changes_until(lambda e: e.id == "6")
        site.put("marker")
        after = await events.next_change()

    assert [(e.event, e.id) for e in missed] == [
        ("APPLICATION_ADDED", "4"),
        ("APPLICATION_UPDATED", "5"),
        ("APPLICATION_REMOVED", "6"),
    ]
    assert missed[1].payload["info"] == "changed"
    assert (after.event, after.id) == ("APPLICATION_ADDED", "7")  # nothing twice, nothing else


async def test_the_query_form_resumes_too_and_the_header_wins(site: Site) -> None:
    for name in ("a", "b", "c"):
        site.put(name)

    async with site.stream("?lastEventId=1") as by_query:
        from_query = await by_query.changes_until(lambda e: e.id == "3")
    async with site.stream("?lastEventId=0", headers={"Last-Event-ID": "2"}) as both:
        from_header = await both.changes_until(lambda e: e.id == "3")

    assert [e.id for e in from_query] == ["2", "3"]
    assert [e.id for e in from_header] == ["3"]


async def test_resuming_at_the_current_revision_replays_nothing(site: Site) -> None:
    site.put("a")

    async with site.stream(headers={"Last-Event-ID": "1"}) as events:
        await site.stream_ready(1)
        site.put("b")
        first = await events.next_change()

    assert first.id == "2"


async def test_an_id_older_than_the_replay_ring_gets_one_resync(make_site: MakeSite) -> None:
    site = await make_site(settings_of(realtime={"replayBuffer": 16}))
    for i in range(40):
        site.put(f"app{i}")

    async with site.stream(headers={"Last-Event-ID": "3"}) as events:
        resync = await events.next_change()
        site.put("marker")
        after = await events.next_change()

    assert resync.event == "RESYNC"
    assert resync.id == "40"
    assert resync.payload == {"revision": 40}
    assert (after.event, after.id) == ("APPLICATION_ADDED", "41")


async def test_an_id_this_server_never_sent_gets_a_resync(site: Site) -> None:
    site.put("a")

    for header in (b"99", b"not-a-number", "²".encode(), b"9" * 5000):
        async with site.stream(headers={"Last-Event-ID": header}) as events:
            resync = await events.next_change()
        assert (resync.event, resync.payload) == ("RESYNC", {"revision": 1}), header[:10]


async def test_a_huge_or_non_ascii_query_id_is_a_400(site: Site) -> None:
    for value in ("²", "9" * 5000):
        response = await site.get("/api/updates/stream", params={"lastEventId": value})
        assert response.status_code == 400, value[:10]


async def test_a_malformed_last_event_id_query_is_a_400(site: Site) -> None:
    response = await site.get("/api/updates/stream?lastEventId=abc")

    assert response.status_code == 400
    assert response.json() == {
        "error": "lastEventId: 'abc' is not an event id (a revision number)",
        "status": 400,
    }
