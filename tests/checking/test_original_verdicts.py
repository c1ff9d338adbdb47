"""The original's verdicts by default: an app whose server answers is up, unless it says 404 or
fails with a 5xx; a stricter list of statuses can still be configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from startpunkt.checking import make_transport, probe, tls_context
from startpunkt.model import State
from startpunkt.store import ProbeTarget
from tests.checking.helpers import HttpServer, redirect, status

# what the original (AvailabilityCheckService, v3.5-v4.7) concluded for each answer
ORIGINAL = {
    200: State.UP,
    204: State.UP,
    301: State.UP,
    401: State.UP,
    403: State.UP,
    404: State.DOWN,
    405: State.UP,
    410: State.UP,
    418: State.UP,
    429: State.UP,
    500: State.DOWN,
    502: State.DOWN,
    503: State.DOWN,
}


@pytest.fixture
async def answering() -> AsyncIterator[HttpServer]:
    """`/s/<code>` answers <code> to HEAD and GET alike; a 301 points at a page that answers
    301 again without a Location, so every hop says 301."""
    routes = {f"/s/{code}": status(code) for code in ORIGINAL}
    routes["/s/301"] = redirect("/s/301-final", 301)
    routes["/s/301-final"] = status(301)
    server = HttpServer(routes=routes)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def transport(make_settings: Any) -> AsyncIterator[httpx.AsyncHTTPTransport]:
    async with make_transport(tls_context(make_settings().availability)) as t:
        yield t


@pytest.mark.parametrize(("code", "verdict"), sorted(ORIGINAL.items()))
async def test_each_answer_gets_the_originals_verdict(
    answering: HttpServer,
    transport: httpx.AsyncHTTPTransport,
    make_settings: Any,
    code: int,
    verdict: State,
) -> None:
    result = await probe(
        transport, ProbeTarget(answering.url(f"/s/{code}")), make_settings().availability
    )

    assert (result.state, result.status_code) == (verdict, code), result
    methods = [r.method for r in answering.seen if r.path.startswith(f"/s/{code}")]
    # HEAD first; only a 405 (or 501) to HEAD makes it ask again with GET
    assert methods[0] == "HEAD"
    assert ("GET" in methods) == (code == 405)


async def test_a_405_to_get_as_well_is_still_a_server_that_answers(
    answering: HttpServer, transport: httpx.AsyncHTTPTransport, make_settings: Any
) -> None:
    result = await probe(
        transport, ProbeTarget(answering.url("/s/405")), make_settings().availability
    )

    assert result.state is State.UP
    assert [r.method for r in answering.seen] == ["HEAD", "GET"]


async def test_a_stricter_list_can_still_be_configured(
    answering: HttpServer, transport: httpx.AsyncHTTPTransport, make_settings: Any
) -> None:
    strict = make_settings(accepted_status_codes=list(range(200, 300))).availability
    verdicts = {
        code: (await probe(transport, ProbeTarget(answering.url(f"/s/{code}")), strict)).state
        for code in (204, 401, 429)
    }

    assert verdicts == {204: State.UP, 401: State.DOWN, 429: State.DOWN}
