"""Every store change reaches an open stream as one event: type, id and the full item."""

from __future__ import annotations

from startpunkt.model import Availability, State
from startpunkt.store import probe_target
from tests.web.conftest import Site


async def test_a_new_stream_first_gets_a_heartbeat_with_the_revision(site: Site) -> None:
    site.put("Grafana")

    async with site.stream() as events:
        first = await events.next()

    assert first.event == "HEARTBEAT"
    assert first.id is None  # so it never moves the browser's Last-Event-ID
    assert first.retry == 2000
    assert first.envelope["type"] == "HEARTBEAT"
    assert first.payload["revision"] == site.ctx.catalog.revision == 1
    assert isinstance(first.payload["timestamp"], int)


async def test_an_added_app_arrives_with_its_revision_and_full_data(site: Site) -> None:
    async with site.stream() as events:
        await events.next()
        site.put("Grafana", "Monitoring", info="Dashboards", tags=["ops"])
        added = await events.next_change()

    rest = (await site.get("/api/apps/Monitoring/Grafana")).json()
    assert added.event == "APPLICATION_ADDED"
    assert added.id == str(site.ctx.catalog.revision)
    assert added.envelope["type"] == "APPLICATION_ADDED"
    assert added.envelope["timestamp"].endswith("Z")
    assert added.payload == rest


async def test_updates_removals_and_status_changes_have_their_own_types(site: Site) -> None:
    [change] = site.put("Grafana", "Monitoring")
    target = probe_target(change.item)  # type: ignore[arg-type]
    assert target is not None

    async with site.stream() as events:
        await events.next()
        site.put("Grafana", "Monitoring", info="new")
        updated = await events.next_change()
        site.feed.set_availability(target, Availability(State.DOWN, 503, 4.0, 1.0))
        status = await events.next_change()
        site.remove("Grafana")
        removed = await events.next_change()

    assert (updated.event, updated.id, updated.payload["info"]) == (
        "APPLICATION_UPDATED",
        "2",
        "new",
    )
    assert (status.event, status.id) == ("STATUS_CHANGED", "3")
    assert status.payload["status"] == "down"
    assert status.payload["available"] is False
    assert status.payload["statusCode"] == 503
    assert (removed.event, removed.id) == ("APPLICATION_REMOVED", "4")
    assert removed.payload == {
        "key": "startpunkt/default/grafana",
        "name": "Grafana",
        "group": "Monitoring",
        "namespace": "default",
        "resourceName": "grafana",
    }


async def test_bookmark_changes_are_streamed(site: Site) -> None:
    async with site.stream() as events:
        await events.next()
        site.put_bookmark("Docs")
        added = await events.next_change()
        site.put_bookmark("Docs", info="read me")
        updated = await events.next_change()
        site.feed.apply("bookmarks", "DELETED", {"kind": "Bookmark", "metadata": {
            "namespace": "default", "name": "docs"}})  # fmt: skip
        removed = await events.next_change()

    assert [added.event, updated.event, removed.event] == [
        "BOOKMARK_ADDED",
        "BOOKMARK_UPDATED",
        "BOOKMARK_REMOVED",
    ]
    assert added.payload["url"] == "https://docs.example"
    assert updated.payload["info"] == "read me"
    assert removed.payload["key"] == "bookmarks/default/docs"


async def test_every_open_stream_gets_the_same_event(site: Site) -> None:
    async with site.stream() as one, site.stream() as two, site.stream() as three:
        await site.stream_ready(3)
        site.put("Grafana")
        got = [await s.next_change() for s in (one, two, three)]

    assert {(e.event, e.id, e.data) for e in got} == {("APPLICATION_ADDED", "1", got[0].data)}
