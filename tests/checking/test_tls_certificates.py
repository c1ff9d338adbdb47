"""A server with a certificate from a CA nobody trusts: down, unless certificates are ignored."""

from __future__ import annotations

from typing import Any

from startpunkt.checking import ProbeOutcome, make_transport, probe, tls_context
from startpunkt.model import State
from startpunkt.store import ProbeTarget


async def test_an_untrusted_certificate_is_down_with_a_tls_error(
    tls_server: Any, make_settings: Any
) -> None:
    settings = make_settings(ignore_certificates=False).availability
    async with make_transport(tls_context(settings)) as transport:
        result = await probe(transport, ProbeTarget(tls_server.url("/ok")), settings)

    assert (result.state, result.outcome) == (State.DOWN, ProbeOutcome.TLS)
    assert result.error.startswith("TLS error: certificate verify failed: ")
    assert tls_server.seen == []  # the handshake failed before any request was sent


async def test_ignore_certificates_accepts_it(tls_server: Any, make_settings: Any) -> None:
    settings = make_settings(ignore_certificates=True).availability
    async with make_transport(tls_context(settings)) as transport:
        result = await probe(transport, ProbeTarget(tls_server.url("/ok")), settings)

    assert (result.state, result.status_code, result.error) == (State.UP, 200, None)
    assert tls_server.count("/ok", "HEAD") == 1


async def test_plain_http_to_a_tls_port_is_down(tls_server: Any, make_settings: Any) -> None:
    settings = make_settings().availability
    url = tls_server.url("/ok").replace("https://", "http://")
    async with make_transport(tls_context(settings)) as transport:
        result = await probe(transport, ProbeTarget(url), settings)

    assert result.state == State.DOWN
    assert result.outcome in (ProbeOutcome.PROTOCOL, ProbeOutcome.CONNECTION)
