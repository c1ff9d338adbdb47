"""Follows another Startpunkt instance, so a central page needs no credentials to its cluster.

The loop mirrors a reflector's: a snapshot (`/api/apps` and `/api/bookmarks`, each with the
revision it reflects) replaces this remote's items in the store, then the event stream
(`/api/updates/stream`) is followed from the older of the two revisions with `Last-Event-ID`,
so nothing between the snapshot and the stream is missed. A dropped stream resumes from the
last event id; RESYNC (the other instance cannot replay that far, or restarted) fetches the
snapshot again and the store reports the difference. Every read has a timeout (the other
instance sends a heartbeat at least every `realtime.heartbeatInterval`), failures back off with
full jitter, and while the instance is out of reach its items stay, marked stale.

Both wire forms of the event stream are understood: named events (`event: APPLICATION_ADDED`)
and plain `data:` messages whose envelope says its `type`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from startpunkt.clusters import Clusters, ClusterState, ClusterStatus
from startpunkt.config import RemoteCluster, Settings, WatchBackoff
from startpunkt.shapes.kube import KubeObject, ObjectEventType
from startpunkt.sources.remote import SOURCE, remote_object
from startpunkt.store import Store, qualified

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 4 * 1024 * 1024  # one event (an item) is a few hundred bytes
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
STREAM_PATH = "/api/updates/stream"

# event type -> (what the store does, which kind of item)
_ACTIONS: dict[str, tuple[ObjectEventType, str]] = {
    "APPLICATION_ADDED": ("MODIFIED", "Application"),
    "APPLICATION_UPDATED": ("MODIFIED", "Application"),
    "STATUS_CHANGED": ("MODIFIED", "Application"),
    "APPLICATION_REMOVED": ("DELETED", "Application"),
    "BOOKMARK_ADDED": ("MODIFIED", "Bookmark"),
    "BOOKMARK_UPDATED": ("MODIFIED", "Bookmark"),
    "BOOKMARK_REMOVED": ("DELETED", "Bookmark"),
}


class RemoteError(Exception):
    """The other instance answered with something this one cannot use."""


class _Resync(Exception):
    """The other instance cannot replay what was missed: fetch its snapshot again."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    type: str
    id: int | None
    data: Any  # the envelope's `data`


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SseEvent]:
    """Server-Sent Events from a byte stream, bounded per event. The type is the `event:`
    field when present, else the `type` of the JSON envelope in `data:`."""
    buffer = b""
    name: str | None = None
    event_id: int | None = None
    data: list[bytes] = []
    size = 0
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > MAX_EVENT_BYTES:
            raise RemoteError(f"an event longer than {MAX_EVENT_BYTES} bytes")
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:end].rstrip(b"\r"), buffer[end + 1 :]
            if not line:  # the blank line ends an event
                if data:
                    yield _event(name, event_id, b"\n".join(data))
                name, event_id, data, size = None, None, [], 0
                continue
            field, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if field == b"data":
                size += len(value)
                if size > MAX_EVENT_BYTES:
                    raise RemoteError(f"an event longer than {MAX_EVENT_BYTES} bytes")
                data.append(value)
            elif field == b"event":
                name = value.decode(errors="replace")
            elif field == b"id":
                event_id = int(value) if value.isdigit() and len(value) <= 18 else None
            # comments (`: ping`) and `retry:` are of no use here


def _event(name: str | None, event_id: int | None, raw: bytes) -> SseEvent:
    try:
        envelope = json.loads(raw)
    except ValueError as e:
        raise RemoteError("an event whose data is not JSON") from e
    if not isinstance(envelope, Mapping):
        raise RemoteError("an event whose data is not a JSON object")
    kind = name or str(envelope.get("type") or "")
    return SseEvent(kind, event_id, envelope.get("data"))


class RemoteFollower:
    def __init__(
        self,
        spec: RemoteCluster,
        store: Store,
        clusters: Clusters,
        backoff: WatchBackoff | None = None,
    ) -> None:
        assert spec.url is not None
        self._backoff = backoff or WatchBackoff()
        self.spec = spec
        self.url = spec.url
        self._store = store
        self._clusters = clusters
        self.source = qualified(spec.name, SOURCE)
        self.status = clusters.add(ClusterStatus(spec.name, "remote", spec.url))
        self._attempt = 0
        # the last event id seen: where a dropped stream resumes; None: fetch a snapshot
        self.resume: int | None = None
        self.resyncs = 0
        self.resumes = 0

    @property
    def name(self) -> str:
        return f"remote {self.spec.name}"

    def _client(self) -> httpx.AsyncClient:
        headers = {"Accept": "application/json", "User-Agent": "startpunkt"}
        if self.spec.token and (token := self.spec.token.get_secret_value()):
            headers["Authorization"] = f"Bearer {token}"
        timeout = httpx.Timeout(10.0, read=self.spec.read_timeout)
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    async def run(self) -> None:
        """Follows the other instance until cancelled."""
        log.info("Following the Startpunkt at %s as cluster %s", self.url, self.spec.name)
        async with self._client() as client:
            while True:
                try:
                    if self.resume is None:
                        self.resume = await self._snapshot(client)
                    await self._stream(client)
                except _Resync:
                    self.resyncs += 1
                    log.info("Cluster %s asked for a resync; fetching its items", self.spec.name)
                    self.resume = None
                except (httpx.HTTPError, RemoteError, TimeoutError, ValueError) as e:
                    reason = f"{type(e).__name__}: {e}".rstrip(": ")
                    self._clusters.report(self.status.key, ClusterState.STALE, reason)
                    ceiling = self._backoff.initial * 2 ** min(self._attempt, 30)
                    delay = min(self._backoff.max, ceiling) * random.random()
                    self._attempt += 1
                    log.warning(
                        "Following cluster %s at %s: %s; trying again in %.2f s",
                        self.spec.name,
                        self.url,
                        reason,
                        delay,
                    )
                    await asyncio.sleep(delay)

    async def _get(self, client: httpx.AsyncClient, path: str) -> Mapping[str, Any]:
        async with client.stream("GET", path) as response:
            if response.status_code != 200:
                raise RemoteError(f"GET {path} answered {response.status_code}")
            body = bytearray()  # appended in place: no copy of the whole body per chunk
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_SNAPSHOT_BYTES:
                    raise RemoteError(f"GET {path} is larger than {MAX_SNAPSHOT_BYTES} bytes")
        # a snapshot of thousands of apps takes a while to parse: not on the event loop
        document = await asyncio.to_thread(json.loads, body)
        if not isinstance(document, Mapping):
            raise RemoteError(f"GET {path} did not answer a JSON object")
        return document

    async def _snapshot(self, client: httpx.AsyncClient) -> int:
        # every app, also from an instance whose `/` shows only untagged ones
        apps = await self._get(client, "/api/apps?tags=*")
        marks = await self._get(client, "/api/bookmarks")
        objects = [
            *_items(apps, "applications", "Application"),
            *_items(marks, "bookmarks", "Bookmark"),
        ]
        revisions = [d.get("revision") for d in (apps, marks)]
        if not all(isinstance(r, int) and not isinstance(r, bool) for r in revisions):
            raise RemoteError("its /api/apps has no revision; is it a Startpunkt?")
        self._store.replace(self.source, objects, quiet=not self.status.synced_once)
        return min(int(r) for r in revisions if isinstance(r, int))

    async def _stream(self, client: httpx.AsyncClient) -> None:
        """Follows the stream until the other side ends it, keeping the last event id."""
        headers = {"Last-Event-ID": str(self.resume), "Accept": "text/event-stream"}
        params = {"tags": "*"}
        async with client.stream("GET", STREAM_PATH, params=params, headers=headers) as response:
            if response.status_code != 200:
                raise RemoteError(f"GET {STREAM_PATH} answered {response.status_code}")
            if self.status.synced_once:
                self.resumes += 1
            self._clusters.report(self.status.key, ClusterState.SYNCED)
            self._attempt = 0
            received = 0
            async for event in sse_events(response.aiter_bytes()):
                received += 1
                self._clusters.report(self.status.key, ClusterState.SYNCED)  # last contact
                if event.type == "RESYNC":
                    raise _Resync
                action = _ACTIONS.get(event.type)
                if action is not None and isinstance(event.data, Mapping):
                    obj = remote_object(action[1], event.data)
                    if obj is not None:
                        self._store.apply(self.source, action[0], obj)
                if event.id is not None:
                    self.resume = event.id
        if not received:
            # every stream starts with a heartbeat: one that ends at once is a failure, and
            # must not be asked again in a hot loop
            raise RemoteError("the event stream ended before its first event")


def _items(document: Mapping[str, Any], member: str, kind: str) -> list[KubeObject]:
    objects: list[KubeObject] = []
    groups = document.get("groups")
    for group in groups if isinstance(groups, list) else ():
        items = group.get(member) if isinstance(group, Mapping) else None
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping) and (obj := remote_object(kind, item)) is not None:
                objects.append(obj)
    return objects


def remote_followers(settings: Settings, store: Store, clusters: Clusters) -> list[RemoteFollower]:
    """One follower per enabled remote with a `url` (backing off as watches do); the original's
    GraphQL-only entries are reported at start-up by the configuration and skipped here."""
    backoff = settings.watch.backoff
    return [
        RemoteFollower(r, store, clusters, backoff)
        for r in settings.clusters.remote
        if r.enabled and r.url
    ]
