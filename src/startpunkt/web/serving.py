"""The HTTP server: uvicorn with httptools, plus the connection limits uvicorn does not enforce.

uvicorn bounds neither the time nor the bytes a client may take to send its request headers,
nor how many connections are open, and it closes a connection by waiting for its send buffer to
drain, which never happens when the client stopped reading. `Protocol` adds, per connection:

- a header timeout (`server.headerTimeout`): from the connection's first byte, or from its
  opening, until the end of the request headers; a half-open request gets 408 and is closed;
- a header size bound (`server.maxHeaderBytes`): the request line and headers together; more is
  a 431 and the connection is closed before the parser buffers it;
- a connection cap (`server.maxConnections`, further capped by the open-files limit): a
  connection over it gets 503 at once;
- the transport in the request scope (`TRANSPORT`), also of a WebSocket, so the live channels
  can write to it directly and reset a connection whose client stopped reading.

The idle keep-alive timeout is uvicorn's own (`timeout_keep_alive`). `Server` closes every event
stream as soon as shutdown begins: that is the only way streams end at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import resource
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from startpunkt.config import ServerLimits
from startpunkt.events import Hub

log = logging.getLogger(__name__)

# the scope extension that carries the connection's transport and flow control
TRANSPORT: Final = "startpunkt.transport"
# file descriptors kept for everything but client connections: watches, probes, files
RESERVED_FILES = 256


def _plain(status: bytes, body: bytes, extra: bytes = b"") -> bytes:
    head = b"HTTP/1.1 %b\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    return head % (status, len(body)) + b"connection: close\r\n" + extra + b"\r\n" + body


TIMED_OUT = _plain(
    b"408 Request Timeout", b'{"error":"the request headers took too long","status":408}'
)
TOO_LARGE = _plain(
    b"431 Request Header Fields Too Large",
    b'{"error":"the request headers are too large","status":431}',
)
TOO_MANY = _plain(
    b"503 Service Unavailable",
    b'{"error":"too many open connections; try again later","status":503}',
    b"retry-after: 5\r\n",
)


def bound_send_buffer(transport: asyncio.Transport, size: int) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def drop(transport: asyncio.Transport) -> None:
    """Ends a connection at once with a reset, discarding what it has not sent: both the
    transport's buffer and the kernel's send queue (a plain close would keep the socket until a
    client that stopped reading takes every byte, which may be never)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


STREAM_STATUS = b"HTTP/1.1 200 OK\r\n"


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    max_header_bytes: int
    max_connections: int


DEFAULT_LIMITS = Limits(header_timeout=10.0, max_header_bytes=65536, max_connections=10240)


def effective_connections(wanted: int) -> int:
    """`wanted`, lowered so connections can never exhaust the process's open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_FILES))


class Config(uvicorn.Config):
    """uvicorn's configuration plus `limits`, which `Protocol` reads."""

    def __init__(self, app: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, http=Protocol, **kwargs)
        self.limits = limits


def config(app: Any, settings: ServerLimits, **kwargs: Any) -> Config:
    """The server configuration every caller uses: the process, tests and benchmarks."""
    connections = effective_connections(settings.max_connections)
    if connections < settings.max_connections:
        log.warning(
            "server.maxConnections %d is above what the open-files limit allows; using %d",
            settings.max_connections,
            connections,
        )
    limits = Limits(settings.header_timeout, settings.max_header_bytes, connections)
    # uvicorn counts the keep-alive timeout in whole seconds
    keep_alive = max(1, math.ceil(settings.keep_alive_timeout))
    # WebSocket frames go to many clients alike: no per-client compression
    kwargs.setdefault("ws_per_message_deflate", False)
    return Config(app, limits, timeout_keep_alive=keep_alive, **kwargs)


class _Pipeline(list[Any]):
    """The part of `deque` uvicorn's pipeline uses (appendleft, pop, truth)."""

    __slots__ = ()

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


class _Flag(asyncio.Event):
    """asyncio.Event with its waiters in a list: uvicorn makes two events per connection, and
    an empty deque costs 760 bytes where an empty list costs 56 (waiters are one or none)."""

    def __init__(self) -> None:  # not super().__init__(): it would allocate the deque
        self._waiters = cast("deque[asyncio.Future[Any]]", [])
        self._value = False


def _lighter(event: asyncio.Event) -> asyncio.Event:
    flag = _Flag()
    if event.is_set():
        flag.set()
    return flag


class _Guard:
    """A connection's own state next to uvicorn's."""

    __slots__ = ("awaiting_headers", "header_bytes", "header_timer", "limits", "on_lost")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.awaiting_headers = True
        self.header_bytes = 0
        self.header_timer: asyncio.TimerHandle | None = None
        self.on_lost: Callable[[], None] | None = None  # set by a response that must know


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and bounds (see the module text)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        # one attribute: uvicorn's own fill the instance's shared-key dict almost to its limit
        # (30 keys in CPython), past which each connection's dict costs five times as much
        self.guard = _Guard(config.limits if isinstance(config, Config) else DEFAULT_LIMITS)
        # uvicorn keeps pipelined requests in a deque, 760 bytes a connection though almost
        # always empty; a list with the two methods it uses costs a tenth of that
        self.pipeline = cast("deque[Any]", _Pipeline())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        super().connection_made(cast(asyncio.Transport, transport))
        self.flow._is_writable_event = _lighter(self.flow._is_writable_event)
        if len(self.connections) > self.guard.limits.max_connections:
            self._refuse(TOO_MANY)
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)
        if self.guard.on_lost is not None:
            self.guard.on_lost()

    def data_received(self, data: bytes) -> None:
        if not self.guard.awaiting_headers:
            super().data_received(data)
            return
        room = self.guard.limits.max_header_bytes - self.guard.header_bytes
        if len(data) <= room:
            self.guard.header_bytes += len(data)
            super().data_received(data)
            return
        # feed what fits: the headers may end inside it, the rest is then body or pipelining
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self.guard.awaiting_headers:
            log.info("Refused request headers over %d bytes", self.guard.limits.max_header_bytes)
            self._refuse(TOO_LARGE)
            return
        protocol = self.transport.get_protocol()
        if protocol is self:
            super().data_received(data[room:])
        elif isinstance(protocol, asyncio.Protocol):  # upgraded to a WebSocket by what was fed
            protocol.data_received(data[room:])

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.guard.awaiting_headers = True
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self.guard.awaiting_headers = False
        self.guard.header_bytes = 0
        self._disarm_header_timer()
        self.scope["extensions"] = {TRANSPORT: {"protocol": self}}
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # not an upgrade
            self.cycle.message_event = _lighter(self.cycle.message_event)

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # the WebSocket protocol built its scope and task (not yet run): hand it the transport too
        upgraded = self.transport.get_protocol()
        scope = getattr(upgraded, "scope", None)
        if isinstance(scope, dict):
            scope.setdefault("extensions", {})[TRANSPORT] = {"protocol": upgraded}

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.guard.awaiting_headers = True  # the next bytes are the next request's headers

    def begin_stream(self, headers: list[tuple[bytes, bytes]], first_chunk: bytes) -> bool:
        """Starts a chunked 200 response with its first chunk in one write, as uvicorn's `send`
        would for `http.response.start` and a body message (which then continue as usual).
        False if the response cannot start here (already started, or the client left)."""
        cycle = self.cycle
        if cycle is None or cycle.response_started or cycle.disconnected:
            return False
        if self.transport.is_closing():
            return False
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        cycle.chunked_encoding = True
        head = [STREAM_STATUS]
        for name, value in (*self.server_state.default_headers, *headers):
            head += [name, b": ", value, b"\r\n"]
        if not cycle.keep_alive:
            head.append(b"connection: close\r\n")
        head += [b"transfer-encoding: chunked\r\n\r\n", first_chunk]
        self.transport.write(b"".join(head))
        return True

    def _arm_header_timer(self) -> None:
        if self.guard.header_timer is None:
            self.guard.header_timer = self.loop.call_later(
                self.guard.limits.header_timeout, self._headers_timed_out
            )

    def _disarm_header_timer(self) -> None:
        if self.guard.header_timer is not None:
            self.guard.header_timer.cancel()
            self.guard.header_timer = None

    def _headers_timed_out(self) -> None:
        self.guard.header_timer = None
        idle = self.cycle is None or self.cycle.response_complete
        if self.guard.awaiting_headers and idle and not self.transport.is_closing():
            self._refuse(TIMED_OUT)

    def _refuse(self, response: bytes) -> None:
        """A short answer, then the connection ends; aborted if the answer cannot leave soon,
        since closing waits for the send buffer and a client that does not read never drains it."""
        self._disarm_header_timer()
        self.transport.write(response)
        self.transport.close()
        if self.transport.get_write_buffer_size():
            self.loop.call_later(1.0, drop, self.transport)


class Server(uvicorn.Server):
    """uvicorn, plus closing every event stream as soon as shutdown begins."""

    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What is loaded by now (modules, configuration, a manifests directory) lives as long as
        # the process: keep it out of the collector's full passes, each of which would otherwise
        # rescan it and stall every open stream for tens of milliseconds (benchmarks/RESULTS.md).
        gc.freeze()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's own handler: it re-raises the signal after shutting down, which would
        # kill the process before the watchers are stopped and the exit status is 0.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
            return
        log.info("Shutting down")
        self.hub.close()
        self.should_exit = True
