"""The event stream per audience: a hidden item's events never reach someone who may not see it,
an item that becomes visible or hidden for someone arrives as ADDED or REMOVED for them, and each
change is encoded once per audience, not once per client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from startpunkt.events import Batch
from startpunkt.model import Availability, State
from tests.web.accessdata import (
    APP_SOURCE,
    BOOKMARK_SOURCE,
    IDENTITIES,
    application,
    bookmark,
    fill,
    leaked,
    settings,
)
from tests.web.conftest import EventReader, MakeSite, Site

WHO = list(IDENTITIES)
MARKER = "Zzmarker"


@pytest.fixture
async def site(make_site: MakeSite) -> Site:
    config = settings()
    site = await make_site(config)
    fill(site.store, config)
    return site


@contextlib.asynccontextmanager
async def streams(site: Site, query: str = "") -> AsyncIterator[dict[str, EventReader]]:
    async with contextlib.AsyncExitStack() as stack:
        readers = {
            who: await stack.enter_async_context(site.stream(query, headers=IDENTITIES[who]))
            for who in WHO
        }
        await site.stream_ready(len(WHO))
        yield readers


marks = 0


async def step(
    site: Site, readers: dict[str, EventReader], change: Any, moves_fixtures: bool = False
) -> dict[str, list[tuple[str, str]]]:
    """Applies `change`, then a public marker app; returns each stream's (type, name) events up
    to the marker, so "nothing arrived" is as certain as "something did". Unless `change` gives
    a fixture item new groups, no event may name an item of another audience at all."""
    global marks  # noqa: PLW0603
    marks += 1
    change()
    site.store.apply(APP_SOURCE, "ADDED", application(f"{MARKER}{marks}", []))
    seen: dict[str, list[tuple[str, str]]] = {}
    for who, reader in readers.items():
        events = await reader.changes_until(lambda e: MARKER in e.data)
        for event in events:
            assert moves_fixtures or not leaked(event.data, who), (who, event.data)
        seen[who] = [(e.event, e.payload.get("name", "")) for e in events[:-1]]
    return seen


def put(site: Site, name: str, groups: list[str], tags: str = "") -> None:
    exists = site.store.get_object(APP_SOURCE, "default", name.lower()) is not None
    site.store.apply(APP_SOURCE, "MODIFIED" if exists else "ADDED", application(name, groups, tags))


async def test_an_item_moves_between_audiences_as_added_and_removed(site: Site) -> None:
    async with streams(site) as readers:
        got = await step(site, readers, lambda: put(site, "Moving", ["family"]))
        assert got == {
            "anonymous": [],
            "A": [("APPLICATION_ADDED", "Moving")],
            "B": [],
            "admin": [("APPLICATION_ADDED", "Moving")],
        }
        got = await step(site, readers, lambda: put(site, "Moving", ["work"]))
        assert got == {
            "anonymous": [],
            "A": [("APPLICATION_REMOVED", "Moving")],
            "B": [("APPLICATION_ADDED", "Moving")],
            "admin": [("APPLICATION_UPDATED", "Moving")],
        }
        got = await step(site, readers, lambda: put(site, "Moving", []))
        assert got == {
            "anonymous": [("APPLICATION_ADDED", "Moving")],
            "A": [("APPLICATION_ADDED", "Moving")],
            "B": [("APPLICATION_UPDATED", "Moving")],
            "admin": [("APPLICATION_UPDATED", "Moving")],
        }
        got = await step(site, readers, lambda: put(site, "Moving", ["admins"]))
        assert got == {
            "anonymous": [("APPLICATION_REMOVED", "Moving")],
            "A": [("APPLICATION_REMOVED", "Moving")],
            "B": [("APPLICATION_REMOVED", "Moving")],
            "admin": [("APPLICATION_UPDATED", "Moving")],
        }
        got = await step(
            site,
            readers,
            lambda: site.store.apply(APP_SOURCE, "DELETED", application("Moving", ["admins"])),
        )
        assert got == {
            "anonymous": [],
            "A": [],
            "B": [],
            "admin": [("APPLICATION_REMOVED", "Moving")],
        }


async def test_a_hidden_apps_status_and_bookmarks_stay_with_their_audience(site: Site) -> None:
    async with streams(site) as readers:
        target = next(
            t for t in site.store.probe_targets() if "familyonly" in t.url
        )  # Familyonly's probe target

        def probed() -> None:
            site.store.set_availability(target, Availability(State.DOWN, 503, 12.0, 1.0))

        got = await step(site, readers, probed)
        assert got["A"] == got["admin"] == [("STATUS_CHANGED", "Familyonly")]
        assert got["B"] == got["anonymous"] == []
        got = await step(
            site,
            readers,
            lambda: site.store.apply(BOOKMARK_SOURCE, "MODIFIED", bookmark("Workmark", ["family"])),
            moves_fixtures=True,
        )
        assert got == {
            "anonymous": [],
            "A": [("BOOKMARK_ADDED", "Workmark")],
            "B": [("BOOKMARK_REMOVED", "Workmark")],
            "admin": [("BOOKMARK_UPDATED", "Workmark")],
        }


async def test_tag_filters_and_groups_combine(site: Site) -> None:
    async with streams(site, "?tags=home") as readers:
        # Familyonly is tagged home: retagging it and regrouping it at once
        got = await step(site, readers, lambda: put(site, "Familyonly", ["work"], "office"), True)
        assert got == {
            "anonymous": [],
            "A": [("APPLICATION_REMOVED", "Familyonly")],
            "B": [],  # now B's, but no longer tagged home
            "admin": [("APPLICATION_REMOVED", "Familyonly")],
        }
        got = await step(site, readers, lambda: put(site, "Familyonly", ["work"], "home"), True)
        assert got["B"] == got["admin"] == [("APPLICATION_ADDED", "Familyonly")]
        assert got["A"] == got["anonymous"] == []


async def test_a_resumed_stream_replays_only_what_its_viewer_may_see(site: Site) -> None:
    start = site.store.revision
    put(site, "Secretone", ["work"])
    put(site, "Openone", [])
    for who in WHO:
        headers = {**IDENTITIES[who], "Last-Event-ID": str(start)}
        async with site.stream(headers=headers) as reader:
            events = await reader.changes_until(lambda e: "Openone" in e.data)
        names = [e.payload["name"] for e in events]
        assert ("Secretone" in names) is (who in ("B", "admin")), who
        assert not any(leaked(e.data, who) for e in events)


async def test_forged_headers_from_an_untrusted_address_get_the_anonymous_stream(
    make_site: MakeSite,
) -> None:
    config = settings(trusted=["10.0.0.0/8"])
    site = await make_site(config)
    fill(site.store, config)
    async with site.stream(headers=IDENTITIES["admin"]) as reader:
        await site.stream_ready(1)
        put(site, "Familyonly", ["family", "admins"])
        put(site, "Openone", [])
        events = await reader.changes_until(lambda e: "Openone" in e.data)
    assert [e.payload["name"] for e in events] == ["Openone"]


async def test_each_change_is_encoded_once_per_audience_not_per_client(site: Site) -> None:
    async with contextlib.AsyncExitStack() as stack:
        readers: list[EventReader] = []
        for i in range(12):
            who = ("A", "B", "anonymous")[i % 3]
            headers = {**IDENTITIES[who]}
            if who == "A":  # unrelated extra groups: still A's audience
                headers["X-Forwarded-Groups"] = f"family,club{i}"
            readers.append(await stack.enter_async_context(site.stream(headers=headers)))
        await site.stream_ready(12)
        before = encodings()
        put(site, "Moving", ["family"])
        put(site, "Openone", [])
        for reader in readers:
            await reader.changes_until(lambda e: "Openone" in e.data)
        # three audiences see three different sequences; twelve clients share them
        assert encodings() - before <= 3


def encodings() -> int:
    """Batches of events turned into wire bytes so far, process-wide."""
    return Batch.built


async def test_the_websocket_channel_carries_only_what_its_viewer_may_see(site: Site) -> None:
    url = site.url.replace("http://", "ws://") + "/api/ws/updates"
    received: dict[str, list[str]] = {}
    for who in ("A", "B"):
        async with connect(url, additional_headers=IDENTITIES[who]) as ws:
            await site.stream_ready(1)
            put(site, f"Fam{who.lower()}", ["family"])  # an addition only A may see
            put(site, f"Open{who.lower()}", [])
            names: list[str] = []
            while not names or not names[-1].startswith("Open"):
                async with asyncio.timeout(5):
                    envelope = json.loads(await ws.recv())
                if envelope["type"] != "HEARTBEAT":
                    names.append(envelope["data"]["name"])
                    assert not leaked(json.dumps(envelope), who)
            received[who] = names
        await site.stream_ready(0)
    assert received == {"A": ["Fama", "Opena"], "B": ["Openb"]}


async def test_changes_coalesced_in_one_loop_iteration_still_move_the_item_right(
    site: Site,
) -> None:
    """Two changes to one item before the hub sends (one loop iteration) go out as one event,
    compared with what each viewer had before the first of them."""
    async with streams(site) as readers:
        await step(site, readers, lambda: put(site, "Moving", ["family"]))

        def regroup_twice() -> None:
            put(site, "Moving", ["work"])
            put(site, "Moving", ["admins"])

        got = await step(site, readers, regroup_twice)
        assert got == {
            "anonymous": [],
            "A": [("APPLICATION_REMOVED", "Moving")],
            "B": [],  # it was B's only in between
            "admin": [("APPLICATION_UPDATED", "Moving")],
        }

        def open_then_delete() -> None:
            put(site, "Moving", [])
            site.store.apply(APP_SOURCE, "DELETED", application("Moving", []))

        got = await step(site, readers, open_then_delete)
        # public for a moment, then gone: a removal (the key alone) for everyone who could see
        # it at either end, never an addition
        assert got == {key: [("APPLICATION_REMOVED", "Moving")] for key in WHO}
