"""One HTTP probe: a target in, a verdict out, never an exception for the target's faults.

HEAD first, GET when the server answers 405 or 501. Redirects are followed by hand, so every
hop is checked: at most `max_redirects` of them, only to http(s) URLs, and only on the probed
URL's host (or one in `availability.healthUrlHosts`). The target's
timeout bounds the whole probe (every hop and the GET fallback together), so a probe never
holds a pool slot for longer than one timeout. Bodies are streamed, and reading stops once
BODY_LIMIT bytes have arrived (one network read, at most 64 KiB, may bring more); no cookies
are kept, so one probe cannot change the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import ssl
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TypeVar, cast
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from startpunkt import __version__
from startpunkt.config import Availability as AvailabilitySettings
from startpunkt.model import State
from startpunkt.sources import hosts
from startpunkt.store import ProbeTarget

USER_AGENT = f"Startpunkt/{__version__} (availability check)"
BODY_LIMIT = 4096
HTTP_SCHEMES = frozenset({"http", "https"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRY_WITH_GET = frozenset({405, 501})
HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*"}

_E = TypeVar("_E", bound=BaseException)


class ProbeOutcome(enum.StrEnum):
    """Why a probe ended the way it did; also the `result` label of startpunkt_probes_total."""

    UP = "up"
    STATUS = "status"  # answered, with a status outside the accepted set
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS
    TLS = "tls"
    REDIRECT = "redirect"  # too many redirects, or one to a scheme that is not followed
    PROTOCOL = "protocol"  # not HTTP, or a malformed URL
    SKIPPED = "skipped"  # not an http(s) URL, so nothing to probe
    ERROR = "error"  # a bug in the checker (logged), not a fault of the target


@dataclass(frozen=True, slots=True)
class ProbeResult:
    outcome: ProbeOutcome
    status_code: int | None = None
    latency: float | None = None  # seconds until the final answer, redirects included
    error: str | None = None

    @property
    def state(self) -> State:
        if self.outcome is ProbeOutcome.UP:
            return State.UP
        if self.outcome in (ProbeOutcome.SKIPPED, ProbeOutcome.ERROR):
            return State.UNKNOWN
        return State.DOWN

    @property
    def failed(self) -> bool:
        """Counts towards backoff."""
        return self.outcome not in (ProbeOutcome.UP, ProbeOutcome.SKIPPED)


def redact(url: str) -> str:
    """A URL fit for logs and metric labels: no credentials, query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def tls_context(settings: AvailabilitySettings) -> ssl.SSLContext:
    """Built once per checker (loading the CA bundle is the slow part of a connection)."""
    return httpx.create_ssl_context(verify=not settings.ignore_certificates)


def make_transport(tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """A connection pool for one probe: its redirects may reuse a connection, nothing else.

    Each probe gets its own: httpcore's shared pool scans every connection for every request,
    which costs O(concurrency) per request (quadratic under load; see
    benchmarks/availability.py), and keep-alive between probes an interval apart buys
    nothing. Probes talk to the transport, not an httpx client, because the client parses
    every Location header itself (and fails on `javascript:`), keeps cookies and routes
    through proxies from the environment; a probe wants none of that.
    """
    return httpx.AsyncHTTPTransport(verify=tls, limits=httpx.Limits(max_connections=2))


async def probe(
    transport: httpx.AsyncBaseTransport, target: ProbeTarget, settings: AvailabilitySettings
) -> ProbeResult:
    timeout = target.timeout if target.timeout is not None else settings.timeout
    accepted = (
        target.accepted
        if target.accepted is not None
        else frozenset(settings.accepted_status_codes)
    )
    scheme = _scheme(target.url)
    if scheme not in HTTP_SCHEMES:
        got = f"{scheme}: scheme" if scheme else "no scheme"
        return ProbeResult(
            ProbeOutcome.SKIPPED,
            error=f"not probed: only http and https URLs are checked (got {got})",
        )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            status, refused = await _follow(
                transport,
                target.url,
                max_redirects=settings.max_redirects,
                limits=httpx.Timeout(timeout),
                other_hosts=settings.health_url_hosts,
            )
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as e:
        outcome, message = _describe(e, timeout)
        return ProbeResult(outcome, error=message)
    latency = time.perf_counter() - started
    if refused is not None:
        return ProbeResult(ProbeOutcome.REDIRECT, status, latency, refused)
    if status in accepted:
        return ProbeResult(ProbeOutcome.UP, status, latency)
    return ProbeResult(ProbeOutcome.STATUS, status, latency, f"HTTP {status}")


async def _follow(
    transport: httpx.AsyncBaseTransport,
    url: str,
    *,
    max_redirects: int,
    limits: httpx.Timeout,
    other_hosts: tuple[str, ...] = (),
) -> tuple[int, str | None]:
    """The final status, and why a redirect was not followed (None when none was refused).

    A redirect to another host than the probed URL's (and not in `other_hosts`) is not
    followed: the redirect is the answer, as for an app that sends visitors to a login page.
    So an app's state never says whether something on another host answers.
    """
    start, followed = url, 0
    while True:
        status, location = await _request(transport, url, limits)
        if status not in REDIRECTS or location is None or max_redirects == 0:
            return status, None
        if followed == max_redirects:
            return status, f"too many redirects (more than {max_redirects})"
        url = urljoin(url, location)
        scheme = _scheme(url)
        if scheme not in HTTP_SCHEMES:
            return status, f"refused a redirect to a {scheme or 'schemeless'}: URL"
        if not hosts.allowed(url, start, other_hosts):
            return status, None
        followed += 1


async def _request(
    transport: httpx.AsyncBaseTransport, url: str, limits: httpx.Timeout
) -> tuple[int, str | None]:
    status, location = await _send(transport, "HEAD", url=url, limits=limits)
    if status in RETRY_WITH_GET:
        status, location = await _send(transport, "GET", url=url, limits=limits)
    return status, location


async def _send(
    transport: httpx.AsyncBaseTransport, method: str, *, url: str, limits: httpx.Timeout
) -> tuple[int, str | None]:
    request = httpx.Request(method, url, headers=HEADERS, extensions={"timeout": limits.as_dict()})
    response = await transport.handle_async_request(request)
    try:
        if not response.is_stream_consumed:  # a transport may hand over a body already read
            await _read_some(response)
        return response.status_code, response.headers.get("location")
    finally:
        await response.aclose()


async def _read_some(response: httpx.Response) -> None:
    """Reads until the body ends or BODY_LIMIT bytes have arrived, whichever is first."""
    received = 0
    body = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(body) as chunks:
        async for chunk in chunks:
            received += len(chunk)
            if received >= BODY_LIMIT:
                break


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def _describe(error: BaseException, timeout: float) -> tuple[ProbeOutcome, str]:
    if isinstance(error, httpx.ConnectTimeout):
        return ProbeOutcome.TIMEOUT, f"connect timed out after {timeout:g} s"
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return ProbeOutcome.TIMEOUT, f"timed out after {timeout:g} s"
    if (tls := _cause(error, ssl.SSLError)) is not None:
        if isinstance(tls, ssl.SSLCertVerificationError) and tls.verify_message:
            return ProbeOutcome.TLS, f"TLS error: certificate verify failed: {tls.verify_message}"
        return ProbeOutcome.TLS, f"TLS error: {tls.reason or tls}"
    if (dns := _cause(error, socket.gaierror)) is not None:
        return ProbeOutcome.CONNECTION, f"DNS lookup failed: {dns.strerror or dns}"
    if _cause(error, ConnectionRefusedError) is not None:
        return ProbeOutcome.CONNECTION, "connection refused"
    if isinstance(error, httpx.NetworkError | OSError):
        return ProbeOutcome.CONNECTION, f"connection failed: {error or type(error).__name__}"
    if isinstance(error, httpx.ProtocolError):
        return ProbeOutcome.PROTOCOL, f"HTTP protocol error: {error or type(error).__name__}"
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL | ValueError):
        return ProbeOutcome.PROTOCOL, f"invalid URL: {error}"
    return ProbeOutcome.PROTOCOL, f"request failed: {error or type(error).__name__}"


def _cause(error: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of `kind` behind `error`: httpx wraps httpcore wraps ssl or OSError,
    and anyio groups the errors of every address it tried."""
    pending, seen = [error], 0
    while pending and seen < 32:
        current = pending.pop(0)
        seen += 1
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
        if (behind := current.__cause__ or current.__context__) is not None:
            pending.append(behind)
    return None
