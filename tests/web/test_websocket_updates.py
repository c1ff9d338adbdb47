"""`/api/ws/updates`: the original's WebSocket channel, carrying the event stream's envelopes."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from startpunkt.web import stream
from tests.waiting import eventually
from tests.web.conftest import MakeSite, Site, settings_of

PATH = "/api/ws/updates"


def ws_url(site: Site, query: str = "") -> str:
    return site.url.replace("http://", "ws://") + PATH + query


async def envelope(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        value: dict[str, Any] = json.loads(await ws.recv())
    return value


async def next_change(ws: ClientConnection) -> dict[str, Any]:
    while (message := await envelope(ws))["type"] == "HEARTBEAT":
        pass
    return message


async def test_a_heartbeat_on_open_then_the_same_envelopes_as_the_event_stream(
    site: Site,
) -> None:
    async with connect(ws_url(site)) as ws, site.stream() as sse:
        first = await envelope(ws)
        await sse.next()
        await site.stream_ready(2)
        site.put("Grafana", info="Dashboards")
        from_ws = await next_change(ws)
        from_sse = await sse.next_change()

    assert first["type"] == "HEARTBEAT"
    assert first["data"]["revision"] == 0
    assert from_ws["type"] == "APPLICATION_ADDED"
    assert from_ws["data"]["name"] == "Grafana"
    assert from_ws == from_sse.envelope  # one encoding, byte for byte the same change


async def test_the_config_says_the_websocket_channel_is_on(site: Site) -> None:
    config = (await site.get("/api/config")).json()["config"]

    assert config["websocket"] == {"enabled": True}


async def test_resuming_with_last_event_id_replays_what_was_missed(site: Site) -> None:
    for name in ("a", "b", "c"):
        site.put(name)

    async with connect(ws_url(site, "?lastEventId=1")) as ws:
        missed = [await next_change(ws), await next_change(ws)]

    assert [(m["type"], m["data"]["name"]) for m in missed] == [
        ("APPLICATION_ADDED", "b"),
        ("APPLICATION_ADDED", "c"),
    ]


async def test_a_client_too_far_behind_gets_resync_and_is_closed(make_site: MakeSite) -> None:
    site = await make_site(settings_of(realtime={"clientQueue": 8}))

    async with connect(ws_url(site)) as ws:
        await envelope(ws)
        await site.stream_ready(1)
        site.store.replace(
            "startpunkt",
            [
                {"kind": "Application", "metadata": {"namespace": "default", "name": f"a{i}"},
                 "spec": {"name": f"a{i}", "group": "G", "url": f"https://a{i}.example"}}
                for i in range(20)
            ],
        )  # fmt: skip
        resync = await next_change(ws)
        with pytest.raises(ConnectionClosed) as closed:
            await envelope(ws)

    assert resync["type"] == "RESYNC"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013  # try again later: the original's page reconnects


async def test_shutdown_closes_the_channel_with_going_away(make_site: MakeSite) -> None:
    site = await make_site(graceful=600)

    async with connect(ws_url(site)) as ws:
        await envelope(ws)
        await site.stream_ready(1)
        site.server.handle_exit(signal.SIGTERM, None)
        with pytest.raises(ConnectionClosed) as closed:
            await envelope(ws)
        async with asyncio.timeout(20):
            await site.task

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code in (1001, 1012)


async def test_disabled_or_bad_requests_are_refused_with_a_reason(make_site: MakeSite) -> None:
    off = await make_site(settings_of(realtime={"enabled": False}))
    on = await make_site()

    with pytest.raises(InvalidStatus) as disabled:
        async with connect(ws_url(off)):
            pass
    with pytest.raises(InvalidStatus) as malformed:
        async with connect(ws_url(on, "?lastEventId=abc")):
            pass

    assert disabled.value.response.status_code == 404
    assert b"realtime.enabled: false" in disabled.value.response.body
    assert malformed.value.response.status_code == 400


async def test_a_client_that_leaves_frees_its_place(site: Site) -> None:
    async with connect(ws_url(site)) as ws:
        await envelope(ws)
        await site.stream_ready(1)

    await site.stream_ready(0)


@pytest.mark.timeout(60)  # fills the kernel buffers of a real socket first
async def test_a_websocket_client_that_stops_reading_is_cut_off_and_reset(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT", 0.5)
    port = urlsplit(site.url).port
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(b"0123456789abcdef").decode()
        await loop.sock_sendall(
            sock,
            f"GET {PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode(),
        )
        await site.stream_ready(1)
        for i in range(120):  # megabytes the client never reads
            site.put(f"app{i}", info="x" * 32_000)
            await asyncio.sleep(0)
        await site.stream_ready(0)
        connections = site.server.server_state.connections
        await eventually(lambda: not connections, 10, what="the connection to be reset")
    finally:
        sock.close()

    metrics = (await site.get("/metrics")).text
    assert 'startpunkt_stream_cutoffs_total{reason="stalled"} 1.0' in metrics
