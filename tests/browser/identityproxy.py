"""A small authenticating reverse proxy on loopback, for tests: it knows people by a session
cookie, as oauth2-proxy does, strips any identity headers the browser sent, adds the person's
`X-Forwarded-User` and `X-Forwarded-Groups`, and pipes bytes both ways (event streams too).

One connection per request (`Connection: close` upstream), which is all a test needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from http.cookies import SimpleCookie

COOKIE = "session"
IDENTITY_HEADERS = (b"x-forwarded-user", b"x-forwarded-groups", b"x-forwarded-email")
HOP_HEADERS = (b"connection", b"keep-alive", b"proxy-connection")


def _session(fields: list[bytes]) -> str | None:
    for field in fields:
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


class IdentityProxy:
    def __init__(self, upstream_port: int, people: Mapping[str, Mapping[str, str]]) -> None:
        self.upstream_port = upstream_port
        self.people = people
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sink.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *fields = head[:-4].split(b"\r\n")
            person = self.people.get(_session(fields) or "", {})
            kept = [
                f
                for f in fields
                if f.partition(b":")[0].strip().lower() not in (*IDENTITY_HEADERS, *HOP_HEADERS)
            ]
            added = [f"{k}: {v}".encode("latin-1") for k, v in person.items()]
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(
                b"\r\n".join([request_line, *kept, *added, b"Connection: close"]) + b"\r\n\r\n"
            )
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # the proxy is stopping; ending this connection is the point
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _main(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await self._stop.wait()
            for task in list(self._tasks):
                task.cancel()

    @contextlib.contextmanager
    def running(self) -> Iterator[IdentityProxy]:
        started = threading.Event()
        thread = threading.Thread(
            target=lambda: asyncio.run(self._main(started)), name="identity-proxy", daemon=True
        )
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the identity proxy did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(10)
