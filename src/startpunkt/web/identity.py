"""Who is asking, from the headers of a trusted authenticating proxy (oauth2-proxy, Authelia,
Authentik, or any proxy that forwards a user and groups header).

A plain ASGI component, outside every route: it reads the configured headers, believes them
only when the connection comes from an address in `access.proxy.trustedProxies`, and puts a
frozen `Viewer` in the scope. Anyone else who sends the headers is served as anonymous, and
logged once per address (the set of addresses remembered is bounded, so a scan of forged
headers from many addresses cannot grow memory).

Responses then depend on who asks, so they go out with `Vary` naming the identity headers and
`Cache-Control: private`: no shared cache may hand one person's page to another.

The peer address is the TCP peer. uvicorn's own `X-Forwarded-For` handling would replace it
with whatever the proxy claims the browser's address was, so the runtime turns that off when
access is configured (a proxy on loopback would otherwise never be recognised as one).
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from startpunkt.access import ANONYMOUS, Policy, Viewer
from startpunkt.config import Access

log = logging.getLogger(__name__)

SCOPE_KEY = "startpunkt.viewer"
OPERATOR_KEY = "startpunkt.operator"  # set on the operator port: no identity, full view
USER_LENGTH = 256
GROUP_LENGTH = 256
GROUP_LIMIT = 256
REMEMBERED = 1024  # untrusted addresses already logged; and trust decisions cached
# responses that are the same for everyone keep their public caching
_SHARED_PREFIXES = ("/statics/", "/icons/", "/theme.css", "/livez", "/readyz", "/favicon.ico")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def viewer_of(connection: HTTPConnection) -> Viewer:
    """The viewer the identity component found; anonymous when access is not configured."""
    found = connection.scope.get(SCOPE_KEY)
    return found if isinstance(found, Viewer) else ANONYMOUS


def on_operator_port(connection: HTTPConnection) -> bool:
    return connection.scope.get(OPERATOR_KEY) is True


def split_groups(values: Iterable[str], separator: str) -> tuple[str, ...]:
    """Every group in the header values, trimmed, duplicates and overlong names dropped."""
    groups: dict[str, None] = {}
    for value in values:
        for part in value.split(separator):
            name = part.strip()
            if name and len(name) <= GROUP_LENGTH:
                groups[name] = None
                if len(groups) >= GROUP_LIMIT:
                    return tuple(groups)
    return tuple(groups)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").strip()


class Identity:
    """ASGI middleware: `scope["startpunkt.viewer"]` for every HTTP and WebSocket request."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        assert access.proxy is not None
        self.app = app
        self.policy = Policy.of(access)
        user, groups, separator, email = access.proxy.headers()
        self.names = [h for h in (user, groups, email) if h is not None]
        self._user = user.lower().encode("latin-1")
        self._groups = groups.lower().encode("latin-1") if groups else None
        self._email = email.lower().encode("latin-1") if email else None
        self._separator = separator
        self._networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n) for n in access.proxy.trusted_proxies
        )
        self._trust: OrderedDict[str, bool] = OrderedDict()
        self._warned: OrderedDict[str, None] = OrderedDict()
        self._vary = ", ".join(self.names).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if SCOPE_KEY not in scope:  # the app may have read it already, before its fast paths
            scope[SCOPE_KEY] = self.viewer(scope)
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(_SHARED_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._private(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_private)

    def viewer(self, scope: Scope) -> Viewer:
        user: str | None = None
        email: str | None = None
        group_values: list[str] = []
        for name, value in scope.get("headers", ()):
            lowered = name.lower()
            if lowered == self._user and user is None:
                user = _decode(value)
            elif lowered == self._email and email is None:
                email = _decode(value)
            elif lowered == self._groups:
                group_values.append(_decode(value))
        if user is None and email is None and not group_values:
            return ANONYMOUS
        client = scope.get("client")
        host = str(client[0]) if client else ""
        if not self.trusted(host):
            self._warn(host)
            return ANONYMOUS
        name = (user or email or "")[:USER_LENGTH]
        return self.policy.viewer(name or None, split_groups(group_values, self._separator))

    def trusted(self, host: str) -> bool:
        known = self._trust.get(host)
        if known is not None:
            return known
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket or test transport: no address to trust
            trusted = False
        else:
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            trusted = any(address in network for network in self._networks)
        self._trust[host] = trusted
        if len(self._trust) > REMEMBERED:
            self._trust.popitem(last=False)
        return trusted

    def _warn(self, host: str) -> None:
        if host in self._warned:
            return
        self._warned[host] = None
        if len(self._warned) > REMEMBERED:
            self._warned.popitem(last=False)
        log.warning(
            "Ignored identity headers (%s) from %s, which is not in "
            "startpunkt.access.proxy.trustedProxies; served as anonymous "
            "(logged once per address)",
            ", ".join(self.names),
            host or "an unknown address",
        )

    def _private(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """`Vary` gains the identity headers; a cacheable response becomes private."""
        out: list[tuple[bytes, bytes]] = []
        vary: list[bytes] = []
        cache_control = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"vary":
                vary.append(value)
            elif lowered == b"cache-control":
                cache_control = True
                keep = b"private" in value or b"no-store" in value
                out.append((name, value if keep else b"private, " + value))
            else:
                out.append((name, value))
        out.append((b"vary", b", ".join([*vary, self._vary])))
        if not cache_control:
            out.append((b"cache-control", b"private"))
        return out
