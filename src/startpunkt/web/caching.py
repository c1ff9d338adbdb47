"""Encoded JSON responses with strong ETags, built once per store snapshot, and compressed once.

Every page load asks for the same few documents (all apps, the apps of a tag set, the
bookmarks); between two store changes they are identical, so each is encoded once and the bytes
are shared. An entry is valid for one `Snapshot` object: the store builds a new one whenever
anything visible moved, including probe details (latency, last check) that do not bump the
revision, which is why the ETag carries a hash of the body and not just the revision.

A document asked for a second time is compressed (brotli and gzip) in a worker thread, never on
the event loop; until that is done it is served uncompressed, then each client gets the best
encoding it accepts, with its own strong ETag (`-br`, `-gz`) and `Vary: Accept-Encoding`. A
304 answers an `If-None-Match` naming any of a document's representations. Responses are built
from raw header lists, without Starlette's per-response header processing.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import brotli
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from startpunkt.store import Snapshot
from startpunkt.web.errors import dumps

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
MIN_COMPRESSED = 1024  # smaller bodies gain nothing worth a Vary and a thread hop
# (encoding, ETag suffix): the preferred first
ENCODINGS = (("br", "-br"), ("gzip", "-gz"))


@dataclass(frozen=True, slots=True)
class Variant:
    body: bytes
    etag: str
    encoding: bytes


@dataclass(slots=True, eq=False)
class Encoded:
    body: bytes
    etag: str
    hits: int = 0
    compressing: bool = False
    variants: dict[str, Variant] = field(default_factory=dict)  # by content-coding

    def etags(self) -> list[str]:
        return [self.etag, *(v.etag for v in self.variants.values())]


def encoded(value: Any, revision: int | None = None, audience: str = "") -> Encoded:
    """`audience` (an access.Audience tag) goes into the ETag, so a validator from one
    audience never earns a 304 in another."""
    body = dumps(value)
    digest = hashlib.blake2b(audience.encode() + body, digest_size=8).hexdigest()
    tag = f'"r{revision}-{digest}"' if revision is not None else f'"{digest}"'
    return Encoded(body, tag)


def _compressed(body: bytes) -> dict[str, bytes]:
    """Runs in a worker thread: zlib and brotli release the GIL while they work."""
    return {
        "br": brotli.compress(body, quality=5),
        "gzip": gzip.compress(body, compresslevel=6, mtime=0),
    }


def schedule_compression(doc: Encoded) -> None:
    """Starts compressing `doc` in a thread; later requests get the result."""
    doc.compressing = True
    future = asyncio.get_running_loop().run_in_executor(None, _compressed, doc.body)

    def done(result: asyncio.Future[dict[str, bytes]]) -> None:
        if result.cancelled() or result.exception() is not None:
            log.warning("Compressing a response failed: %s", result.exception())
            return
        base = doc.etag[:-1]
        for encoding, suffix in ENCODINGS:
            body = result.result()[encoding]
            etag = f'{base}{suffix}"' if doc.etag else ""
            doc.variants[encoding] = Variant(body, etag, encoding.encode())

    future.add_done_callback(done)


@functools.lru_cache(maxsize=256)
def accepted(header: str) -> frozenset[str]:
    """The content-codings an `Accept-Encoding` value allows (q=0 refuses one)."""
    codings = set()
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
        try:
            refused = float(q) <= 0
        except ValueError:
            refused = False
        if not refused:
            codings.add(name.strip())
    return frozenset(codings)


class SnapshotCache:
    """Documents of the current snapshot only, at most `size` of them and `budget` bytes.

    Entries of an older snapshot can never be served again, so they go as soon as a newer one is
    seen; the limits keep a scan of many tag sets from pinning memory.
    """

    def __init__(self, size: int = 128, budget: int = 64 * 1024 * 1024) -> None:
        self._size = size
        self._budget = budget
        self._bytes = 0
        self._snapshot: Snapshot | None = None
        self._entries: OrderedDict[Hashable, Encoded] = OrderedDict()

    def get(
        self,
        snapshot: Snapshot,
        key: Hashable,
        build: Callable[[Snapshot], Any],
        audience: str = "",
    ) -> Encoded:
        if snapshot is not self._snapshot:
            self._snapshot = snapshot
            self._entries.clear()
            self._bytes = 0
        if (found := self._entries.get(key)) is not None:
            self._entries.move_to_end(key)
            return found
        result = encoded(build(snapshot), snapshot.revision, audience)
        self._entries[key] = result
        self._bytes += len(result.body)
        while len(self._entries) > 1 and (
            len(self._entries) > self._size or self._bytes > self._budget
        ):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)
        return result

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


def _matches(header: str, etags: list[str]) -> str | None:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored. Returns the
    representation's ETag that matched."""
    if header.strip() == "*":
        return etags[0]
    for candidate in header.split(","):
        tag = candidate.strip().removeprefix("W/")
        if tag in etags:
            return tag
    return None


class Prepared(Response):
    """A response from ready bytes and raw headers (Starlette's `Response` minus the header
    building; its `headers` and `__call__` work as usual)."""

    def __init__(
        self, status_code: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.raw_headers = raw_headers
        self.background: BackgroundTask | None = None


def conditional(
    request: Request, doc: Encoded, headers: Mapping[str, str] | None = None
) -> Response:
    """200 with the body in the best encoding the client accepts, or 304 when it already has
    this version."""
    request_headers = request.headers
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return prepare(
        doc,
        request_headers.get("accept-encoding", ""),
        if_none_match=request_headers.get("if-none-match"),
        extra=extra,
    )


def prepare(
    doc: Encoded,
    accept_encoding: str,
    *,
    if_none_match: str | None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> Prepared:
    """`conditional` from the two request headers it reads."""
    doc.hits += 1
    variant: Variant | None = None
    compressible = len(doc.body) >= MIN_COMPRESSED
    if compressible:
        codings = accepted(accept_encoding)
        for encoding, _ in ENCODINGS:
            if encoding in codings and (variant := doc.variants.get(encoding)) is not None:
                break
        if not doc.compressing and doc.hits > 1 and codings:
            schedule_compression(doc)
    raw = [(b"cache-control", b"no-cache")]
    if compressible:
        raw.append((b"vary", b"Accept-Encoding"))
    if extra:
        raw += extra
    if if_none_match is not None and (matched := _matches(if_none_match, doc.etags())):
        raw.append((b"etag", matched.encode()))
        return Prepared(304, b"", raw)
    body = doc.body if variant is None else variant.body
    raw.append((b"etag", (doc.etag if variant is None else variant.etag).encode()))
    if variant is not None:
        raw.append((b"content-encoding", variant.encoding))
    raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", b"%d" % len(body)))
    return Prepared(200, body, raw)
