"""Connection limits of the real server, tried with raw sockets as a hostile or broken client
would: half-open requests, huge headers, idle connections, too many connections, and event
streams whose client stops reading."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from startpunkt.web import stream
from tests.waiting import eventually
from tests.web.conftest import MakeSite, Site, settings_of


@contextlib.asynccontextmanager
async def raw(site: Site, receive_buffer: int | None = None) -> AsyncIterator[socket.socket]:
    url = urlsplit(site.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (url.hostname, url.port))
        yield sock
    finally:
        sock.close()


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, data)


async def read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (EOF or reset)."""
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = await loop.sock_recv(sock, 65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


async def read_to_the_end(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(10):
        while await loop.sock_recv(sock, 65536):
            pass


def open_connections(site: Site) -> int:
    return len(site.server.server_state.connections)


async def test_a_half_open_request_is_answered_408_and_closed(make_site: MakeSite) -> None:
    site = await make_site(settings_of(server={"headerTimeout": "300ms"}))

    async with raw(site) as sock:
        await send(sock, b"GET /api/apps HTTP/1.1\r\nHost: x\r\nX-Partial: ab")
        answer = await read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")
    await eventually(lambda: open_connections(site) == 0, 5, what="the connection to be gone")


async def test_a_connection_that_sends_nothing_is_closed(make_site: MakeSite) -> None:
    site = await make_site(settings_of(server={"headerTimeout": "300ms"}))

    async with raw(site) as sock:
        answer = await read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_slow_but_complete_request_within_the_timeout_is_served(
    make_site: MakeSite,
) -> None:
    site = await make_site(settings_of(server={"headerTimeout": "5s"}))

    async with raw(site) as sock:
        await send(sock, b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        await send(sock, b"Connection: close\r\n\r\n")
        answer = await read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_headers_over_the_bound_get_431_and_the_connection_closes(
    make_site: MakeSite,
) -> None:
    site = await make_site(settings_of(server={"maxHeaderBytes": 8192}))

    async with raw(site) as sock:
        await send(sock, b"GET /api/apps HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 50_000)
        await send(sock, b"\r\n\r\n")
        answer = await read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 431 ")
    # the same request with headers within the bound is served
    async with raw(site) as sock:
        await send(sock, b"GET /api/apps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        await send(sock, b"X-Big: " + b"a" * 4000 + b"\r\n\r\n")
        answer = await read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_unfinished_huge_headers_are_refused_before_they_are_buffered(
    make_site: MakeSite,
) -> None:
    site = await make_site()  # the default bound (64 KiB)

    async with raw(site) as sock:
        await send(sock, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
        with contextlib.suppress(ConnectionError):  # refused while we are still sending
            for _ in range(64):
                await send(sock, b"a" * 65536)
        answer = await read_until_closed(sock)

    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    await eventually(lambda: open_connections(site) == 0, 5, what="the connection to be gone")


async def test_an_idle_keep_alive_connection_is_closed(make_site: MakeSite) -> None:
    site = await make_site(settings_of(server={"keepAliveTimeout": "1s"}))

    async with raw(site) as sock:
        await send(sock, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await read_until_closed(sock)  # returns only once the server closes

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1") == 1


async def test_connections_over_the_cap_get_503(make_site: MakeSite) -> None:
    site = await make_site(settings_of(server={"maxConnections": 3}))
    request = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"

    async with raw(site) as a, raw(site) as b, raw(site) as c:
        for sock in (a, b, c):
            await send(sock, request)
        await eventually(lambda: open_connections(site) == 3, 5, what="three connections")
        async with raw(site) as refused:
            answer = await read_until_closed(refused)
        for sock in (a, b, c):  # the three are still served
            assert (await asyncio.get_running_loop().sock_recv(sock, 4096)).startswith(
                b"HTTP/1.1 200 "
            )

    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 5" in answer.lower()


async def test_a_stalled_stream_client_is_cut_off_and_its_connection_aborted(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT", 0.5)
    big = "x" * 32_000
    request = f"GET {stream.PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    async with raw(site, receive_buffer=4096) as stalled, site.stream() as healthy:
        await send(stalled, request)
        await site.stream_ready(2)
        for i in range(120):
            site.put(f"app{i}", info=big)
            await asyncio.sleep(0)
        await site.stream_ready(1)  # the hub let go of the stalled one
        # and the server dropped its connection: only the healthy stream's is left, although
        # megabytes were still unsent to the stalled client
        await eventually(lambda: open_connections(site) == 1, 10, what="the stalled one gone")
        with pytest.raises(ConnectionResetError):  # aborted (RST), not closed after a flush
            await read_to_the_end(stalled)
        site.put("after")
        after = await healthy.changes_until(lambda e: e.payload.get("name") == "after")

    assert after[-1].event == "APPLICATION_ADDED"


async def test_twenty_stalled_stream_clients_hold_no_connections_after_the_cut(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "SEND_TIMEOUT", 0.5)
    site = await make_site(settings_of(realtime={"maxConnections": 20}))
    request = f"GET {stream.PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    big = "x" * 32_000

    async with contextlib.AsyncExitStack() as stack:
        socks = [await stack.enter_async_context(raw(site, 4096)) for _ in range(20)]
        for sock in socks:
            await send(sock, request)
        await site.stream_ready(20)
        for i in range(120):
            site.put(f"app{i}", info=big)
            await asyncio.sleep(0)
        await site.stream_ready(0)
        await eventually(lambda: open_connections(site) == 0, 10, what="every connection gone")
        # the cap counts only live streams: all twenty places are free again
        async with site.stream() as fresh:
            assert (await fresh.next()).event == "HEARTBEAT"
