"""What one probe of a real server concludes, and which requests it makes to get there."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from startpunkt import __version__
from startpunkt.checking import ProbeOutcome, ProbeResult, make_transport, probe, tls_context
from startpunkt.model import State
from startpunkt.store import ProbeTarget
from tests.checking.helpers import HttpServer
from tests.waiting import eventually


@pytest.fixture
async def transport(make_settings: Any) -> AsyncIterator[httpx.AsyncHTTPTransport]:
    async with make_transport(tls_context(make_settings().availability)) as t:
        yield t


@pytest.fixture
def check(transport: httpx.AsyncHTTPTransport, make_settings: Any) -> Any:
    """`await check(url, accepted=..., timeout=..., **global_settings)`: one probe."""

    async def run(url: str, **options: Any) -> ProbeResult:
        target_options = {k: options.pop(k) for k in ("accepted", "timeout") if k in options}
        target = ProbeTarget(url, **target_options)
        return await probe(transport, target, make_settings(**options).availability)

    return run


@pytest.mark.parametrize(
    ("path", "code"),
    [("/ok", 200), ("/slow", 200), ("/auth", 401), ("/forbidden", 403), ("/moved", 200)],
)
async def test_answers_in_the_accepted_set_are_up(
    check: Any, server: HttpServer, path: str, code: int
) -> None:
    result = await check(server.url(path))

    assert (result.state, result.status_code, result.error) == (State.UP, code, None)
    assert result.latency is not None
    assert result.latency > 0


@pytest.mark.parametrize(("path", "code"), [("/missing", 404), ("/error", 500)])
async def test_not_found_and_server_errors_are_down(
    check: Any, server: HttpServer, path: str, code: int
) -> None:
    result = await check(server.url(path))

    assert (result.state, result.outcome, result.status_code) == (State.DOWN, "status", code)
    assert result.error == f"HTTP {code}"


async def test_a_server_that_never_answers_is_down_after_the_timeout(
    check: Any, server: HttpServer
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await check(server.url("/hang"), timeout=0.3)

    assert (result.state, result.outcome) == (State.DOWN, ProbeOutcome.TIMEOUT)
    assert result.error == "timed out after 0.3 s"
    assert 0.25 < loop.time() - started < 1.5


@pytest.mark.parametrize("path", ["/no-head", "/head-501"])
async def test_head_rejected_falls_back_to_get(check: Any, server: HttpServer, path: str) -> None:
    result = await check(server.url(path))

    assert (result.state, result.status_code) == (State.UP, 200)
    assert [r.method for r in server.requests(path)] == ["HEAD", "GET"]


async def test_head_is_enough_when_the_server_supports_it(check: Any, server: HttpServer) -> None:
    await check(server.url("/ok"))

    assert [r.method for r in server.requests("/ok")] == ["HEAD"]


@pytest.mark.parametrize("path", ["/loop", "/ping"])
async def test_a_redirect_loop_is_down_after_max_redirects(
    check: Any, server: HttpServer, path: str
) -> None:
    result = await check(server.url(path), max_redirects=3)

    assert (result.state, result.outcome) == (State.DOWN, ProbeOutcome.REDIRECT)
    assert result.error == "too many redirects (more than 3)"
    assert len(server.seen) == 4  # the first request and three redirects


async def test_with_max_redirects_zero_the_redirect_itself_is_judged(
    check: Any, server: HttpServer
) -> None:
    result = await check(server.url("/loop"), max_redirects=0)

    assert (result.state, result.status_code) == (State.UP, 302)
    assert server.count("/loop") == 1


@pytest.mark.parametrize(("path", "scheme"), [("/to-ftp", "ftp"), ("/to-js", "javascript")])
async def test_redirects_to_other_schemes_are_refused(
    check: Any, server: HttpServer, path: str, scheme: str
) -> None:
    result = await check(server.url(path))

    assert (result.state, result.outcome, result.status_code) == (State.DOWN, "redirect", 302)
    assert result.error == f"refused a redirect to a {scheme}: URL"


async def test_the_accepted_codes_of_the_target_replace_the_global_set(
    check: Any, server: HttpServer
) -> None:
    assert (await check(server.url("/missing"), accepted=frozenset({404}))).state == "up"
    assert (await check(server.url("/ok"), accepted=frozenset({204}))).state == "down"
    assert (await check(server.url("/ok"), accepted_status_codes=[204])).state == "down"
    assert (await check(server.url("/missing"), accepted_status_codes=[404])).state == "up"


async def test_the_timeout_of_the_target_replaces_the_global_one(
    check: Any, server: HttpServer
) -> None:
    patient = await check(server.url("/slow"), timeout=2.0)
    hasty = await check(server.url("/slow"), timeout=0.1)

    assert patient.state == State.UP
    assert (hasty.state, hasty.error) == (State.DOWN, "timed out after 0.1 s")


async def test_the_server_sees_the_startpunkt_user_agent(check: Any, server: HttpServer) -> None:
    await check(server.url("/ok"))

    (request,) = server.requests("/ok")
    assert request.headers["user-agent"] == f"Startpunkt/{__version__} (availability check)"


async def test_cookies_from_one_probe_are_not_sent_by_the_next(
    check: Any, server: HttpServer
) -> None:
    await check(server.url("/set-cookie"))
    await check(server.url("/set-cookie"))

    assert [r.headers.get("cookie") for r in server.requests("/set-cookie")] == [None, None]


async def test_a_refused_connection_is_down_and_says_so(check: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await check(f"http://127.0.0.1:{port}/")

    assert (result.state, result.outcome) == (State.DOWN, ProbeOutcome.CONNECTION)
    assert result.error == "connection refused"


async def test_a_url_that_is_not_http_is_not_probed(check: Any) -> None:
    result = await check("smb://nas.local/share")

    assert (result.state, result.outcome) == (State.UNKNOWN, ProbeOutcome.SKIPPED)
    assert result.error == "not probed: only http and https URLs are checked (got smb: scheme)"


async def test_a_huge_body_is_not_read_to_the_end(check: Any, server: HttpServer) -> None:
    """The server would stream forever; the probe reads a few KiB and hangs up."""
    result = await check(server.url("/huge"), timeout=5.0)

    assert (result.state, result.status_code) == (State.UP, 200)
    await eventually(lambda: server.disconnects.get("/huge") == 1, timeout=5, interval=0.01)
    # what the server managed to push into socket buffers, far from "forever"
    assert server.streamed < 64 * 1024 * 1024
