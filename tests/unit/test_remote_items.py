"""What a followed instance sends: its event stream in either wire form, and its items, which
are checked like any object (a hostile instance costs its own items, never the page)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable

import pytest

from startpunkt.model import Application, Bookmark, Verdict
from startpunkt.remote import MAX_EVENT_BYTES, RemoteError, SseEvent, sse_events
from startpunkt.sources.remote import map_remote, remote_object


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def parse(*parts: bytes) -> list[SseEvent]:
    async def collect() -> list[SseEvent]:
        return [e async for e in sse_events(_chunks(parts))]

    return asyncio.run(collect())


def envelope(type_: str, data: object) -> bytes:
    return json.dumps(
        {"type": type_, "timestamp": "2026-01-01T00:00:00.000Z", "data": data}
    ).encode()


def test_named_events_and_plain_data_messages_read_the_same() -> None:
    app = {"key": "ingress/default/web", "name": "Web"}
    named = b"id: 7\nevent: APPLICATION_ADDED\ndata: " + envelope("APPLICATION_ADDED", app)
    plain = b"data: " + envelope("APPLICATION_REMOVED", app) + b"\nid: 8"
    heartbeat = b"event: HEARTBEAT\ndata: " + envelope("HEARTBEAT", {"revision": 8})
    stream = b"retry: 2000\n\n" + named + b"\n\n: a comment\n\n" + plain + b"\r\n\r\n" + heartbeat

    # split anywhere: a chunk boundary inside a line changes nothing
    events = parse(stream[:13], stream[13:101], stream[101:])

    # the heartbeat has no blank line after it yet: not dispatched
    assert [(e.type, e.id) for e in events] == [
        ("APPLICATION_ADDED", 7),
        ("APPLICATION_REMOVED", 8),
    ]
    assert events[0].data == app
    assert events[1].data == app


def test_an_endless_event_is_refused_not_buffered() -> None:
    with pytest.raises(RemoteError, match="longer than"):
        parse(b"data: " + b"x" * (MAX_EVENT_BYTES + 1))


def test_an_event_that_is_not_json_is_refused() -> None:
    with pytest.raises(RemoteError, match="not JSON"):
        parse(b"data: {oops\n\n")


def test_a_remote_app_keeps_what_the_page_shows() -> None:
    obj = remote_object(
        "Application",
        {
            "key": "ingress/media/jellyfin",
            "name": "Jellyfin",
            "group": "Media",
            "url": "https://jellyfin.example",
            "tags": "media,tv",
            "location": 3,
            "source": "ingress",
            "namespace": "media",
            "resourceName": "jellyfin",
            "status": "up",
        },
    )
    assert obj is not None
    outcome = map_remote(obj)
    (item,) = outcome.items
    assert isinstance(item, Application)
    assert (item.key, item.name, item.url, item.tags, item.location) == (
        "ingress/media/jellyfin",
        "Jellyfin",
        "https://jellyfin.example",
        ("media", "tv"),
        3,
    )


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"key": "k", "name": "X", "url": "javascript:alert(1)"}, "unsafe URL scheme"),
        ({"key": "k", "url": "https://x.example"}, "without a name"),
    ],
)
def test_a_hostile_remote_item_is_rejected_with_a_reason(item: dict[str, str], reason: str) -> None:
    obj = remote_object("Application", item)
    assert obj is not None
    outcome = map_remote(obj)
    assert outcome.verdict is Verdict.REJECTED
    assert reason in (outcome.reason or "")


def test_an_item_without_a_key_is_not_stored_and_odd_fields_are_bounded() -> None:
    assert remote_object("Bookmark", {"name": "No key"}) is None
    obj = remote_object(
        "Bookmark",
        {"key": "b", "name": "N" * 10_000, "url": "https://b.example", "location": "first"},
    )
    assert obj is not None
    (mark,) = map_remote(obj).items
    assert isinstance(mark, Bookmark)
    assert len(mark.name) == 200
    assert mark.location == 1000
