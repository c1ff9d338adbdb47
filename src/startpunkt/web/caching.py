"""Encoded JSON responses with strong ETags, built once per store snapshot.

Every page load asks for the same few documents (all apps, the apps of a tag set, the
bookmarks); between two store changes they are identical, so each is encoded once and the bytes
are shared. An entry is valid for one `Snapshot` object: the store builds a new one whenever
anything visible moved, including probe details (latency, last check) that do not bump the
revision, which is why the ETag carries a hash of the body and not just the revision.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from startpunkt.store import Snapshot
from startpunkt.web.errors import dumps

JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Encoded:
    body: bytes
    etag: str


def encoded(value: Any, revision: int | None = None, audience: str = "") -> Encoded:
    """`audience` (an access.Audience tag) goes into the ETag, so a validator from one
    audience never earns a 304 in another."""
    body = dumps(value)
    digest = hashlib.blake2b(audience.encode() + body, digest_size=8).hexdigest()
    tag = f'"r{revision}-{digest}"' if revision is not None else f'"{digest}"'
    return Encoded(body, tag)


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


def _matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored."""
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in header.split(","))


def conditional(request: Request, doc: Encoded, headers: dict[str, str] | None = None) -> Response:
    """200 with the body, or 304 when the client already has this version."""
    out = {"ETag": doc.etag, "Cache-Control": "no-cache", **(headers or {})}
    if (inm := request.headers.get("if-none-match")) is not None and _matches(inm, doc.etag):
        return Response(status_code=304, headers=out)
    return Response(doc.body, headers=out, media_type=JSON_TYPE)
