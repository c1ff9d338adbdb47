"""Availability shared between replicas through one ConfigMap the leader keeps current.

Only the leader probes. It writes each app's state to the ConfigMap `startpunkt-availability`
when the state *changes* (a merge patch of the changed keys, a burst of changes coalesced into
one write), never on every probe. Every replica watches that one object (a LIST and WATCH
narrowed to its name) and applies the states to its own store, so a status change reaches the
pages on every replica; a replica that becomes the leader starts from the published states,
not from "unknown".

The encoding is compact so 10,000 apps stay well under the 1 MiB object limit: the key is a
12-character hash of the probe target (URL, accepted codes, timeout), the value
`<state> <status code> <latency ms> <checked at> [error]`, about 20 bytes for an app that is up.
Followers only ever see the leader's latency and check time as of the last change.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from startpunkt.kube.api import TRANSIENT, Api, ApiError
from startpunkt.model import Application, Availability, ResourceKind, State
from startpunkt.store import Notice, ProbeTarget, Resync, Store, probe_target

log = logging.getLogger(__name__)

CONFIGMAP_NAME = "startpunkt-availability"
CONFIGMAP_KIND = ResourceKind("", "v1", "configmaps", "ConfigMap", "availability ConfigMap")
# the store source the watched ConfigMap is kept under (no mapper: it shows nothing itself)
SOURCE = "published-availability"
ERROR_LIMIT = 40  # characters of a probe error carried along
_COALESCE = 0.2  # seconds: changes arriving this close together are one write
_RETRY = 2.0  # seconds before a failed write is tried again
_FORBIDDEN_RETRY = 60.0

_CODES = {
    State.UP: "u",
    State.DOWN: "d",
    State.DEGRADED: "g",
    State.SCALED_TO_ZERO: "z",
}
_STATES = {code: state for state, code in _CODES.items()}


def target_key(target: ProbeTarget) -> str:
    """A short, stable name for a probe target, the same in every replica."""
    accepted = ",".join(map(str, sorted(target.accepted))) if target.accepted is not None else "-"
    text = f"{target.url}\n{accepted}\n{target.timeout!r}"
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def encode(availability: Availability) -> str | None:
    """The published form of a known state; None for "unknown", which is never published."""
    code = _CODES.get(availability.state)
    if code is None:
        return None
    latency = availability.latency_ms
    checked = availability.last_checked
    fields = [
        code,
        "-" if availability.status_code is None else str(availability.status_code),
        "-" if latency is None else str(round(latency)),
        "-" if checked is None else str(round(checked)),
    ]
    if availability.error:
        fields.append(" ".join(availability.error.split())[:ERROR_LIMIT])
    return " ".join(fields)


def decode(value: object) -> Availability | None:
    """The inverse of `encode`; None for anything malformed (the object is not ours alone)."""
    if not isinstance(value, str):
        return None
    parts = value.split(" ", 4)
    if len(parts) < 4 or (state := _STATES.get(parts[0])) is None:
        return None
    try:
        code, latency, checked = (None if p == "-" else int(p) for p in parts[1:4])
    except ValueError:
        return None
    return Availability(
        state,
        code,
        None if latency is None else float(latency),
        None if checked is None else float(checked),
        parts[4] if len(parts) > 4 else None,
    )


def configmap_path(namespace: str, name: str | None = CONFIGMAP_NAME) -> str:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    return f"{base}/{name}" if name else base


class _Keys:
    """`target_key`, remembered for the targets the store has now."""

    def __init__(self) -> None:
        self._keys: dict[ProbeTarget, str] = {}

    def __call__(self, target: ProbeTarget) -> str:
        key = self._keys.get(target)
        if key is None:
            key = self._keys[target] = target_key(target)
        return key

    def keep(self, targets: set[ProbeTarget]) -> None:
        if len(self._keys) > len(targets):
            self._keys = {t: k for t, k in self._keys.items() if t in targets}


class Publisher:
    """The leader's side: `run()` is part of the leader's work, started anew on each term."""

    def __init__(
        self,
        api: Api,
        store: Store,
        *,
        namespace: str,
        ready: Callable[[], bool],
        field_manager: str = "startpunkt",
    ) -> None:
        self._api = api
        self._store = store
        self._namespace = namespace
        self._ready = ready
        self._manager = field_manager
        self._keys = _Keys()
        self._published: dict[str, State] = {}  # the ConfigMap's states, as we last wrote them
        self._dirty = asyncio.Event()
        self._forbidden = False
        self.writes = 0  # for the benchmark

    @property
    def where(self) -> str:
        return f"{self._namespace}/{CONFIGMAP_NAME}"

    async def run(self) -> None:
        await self._load()
        unsubscribe = self._store.subscribe(self._on_notice)
        self._dirty.set()
        try:
            while True:
                await self._dirty.wait()
                await asyncio.sleep(_COALESCE)
                self._dirty.clear()
                await self._flush()
        finally:
            unsubscribe()

    def _on_notice(self, notice: Notice) -> None:
        # any change may matter: a status change, or a target that appeared or went away
        self._dirty.set()

    async def _load(self) -> None:
        """Reads what the last leader published, creating the ConfigMap if there is none, and
        gives every app this replica knows nothing about yet its published state."""
        while True:
            try:
                data = await self._read_or_create()
            except ApiError as e:
                await self._failed(e)
                continue
            except TRANSIENT as e:
                log.debug("Cannot read %s: %r", self.where, e)
                await asyncio.sleep(_RETRY)
                continue
            break
        self._published = {}
        published: dict[str, Availability] = {}
        for key, value in data.items():
            if (availability := decode(value)) is not None:
                self._published[key] = availability.state
                published[key] = availability
        for target in self._store.probe_targets():
            found = published.get(self._keys(target))
            if found is not None and self._store.target_availability(target).state is State.UNKNOWN:
                self._store.set_availability(target, found)

    async def _read_or_create(self) -> Mapping[str, Any]:
        try:
            configmap = await self._api.get(configmap_path(self._namespace))
        except ApiError as e:
            if e.status != 404:
                raise
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": CONFIGMAP_NAME,
                    "namespace": self._namespace,
                    "labels": {"app.kubernetes.io/name": "startpunkt"},
                },
                "data": {},
            }
            try:
                configmap = await self._api.create(
                    configmap_path(self._namespace, None), body, field_manager=self._manager
                )
            except ApiError as conflict:
                if conflict.status != 409:
                    raise
                configmap = await self._api.get(configmap_path(self._namespace))
        data = configmap.get("data")
        return data if isinstance(data, dict) else {}

    def changes(self) -> dict[str, str | None]:
        """What to write: states that differ from the published ones, and (once the store is
        complete) the removal of targets no app uses any more."""
        targets = self._store.probe_targets()
        self._keys.keep(targets)
        patch: dict[str, str | None] = {}
        current: set[str] = set()
        for target in targets:
            key = self._keys(target)
            current.add(key)
            availability = self._store.target_availability(target)
            if self._published.get(key) is availability.state:
                continue
            if (value := encode(availability)) is not None:
                patch[key] = value
        if self._ready():
            patch.update(dict.fromkeys(self._published.keys() - current))
        return patch

    async def _flush(self) -> None:
        patch = self.changes()
        if not patch:
            return
        try:
            await self._api.patch(
                configmap_path(self._namespace), {"data": patch}, field_manager=self._manager
            )
        except ApiError as e:
            if e.status == 404:
                self._published = {}  # deleted: the next write recreates it whole
                await self._load()
            else:
                await self._failed(e)
            self._dirty.set()
            return
        except TRANSIENT as e:
            log.debug("Cannot write %s: %r", self.where, e)
            await asyncio.sleep(_RETRY)
            self._dirty.set()
            return
        self.writes += 1
        self._forbidden = False
        for key, value in patch.items():
            if value is None:
                self._published.pop(key, None)
            elif (availability := decode(value)) is not None:
                self._published[key] = availability.state
        log.debug("Published %d availability change(s) to %s", len(patch), self.where)

    async def _failed(self, error: ApiError) -> None:
        if error.status == 403:
            if not self._forbidden:
                self._forbidden = True
                log.error(
                    "Forbidden: cannot publish availability to ConfigMap %s, so other replicas "
                    "cannot show it. Grant get, create and patch on configmaps (resourceNames "
                    "%s) in namespace %s. Retrying every %.0f s (%s)",
                    self.where,
                    CONFIGMAP_NAME,
                    self._namespace,
                    _FORBIDDEN_RETRY,
                    error.message,
                )
            await asyncio.sleep(_FORBIDDEN_RETRY)
            return
        log.warning("Cannot publish availability to %s: %s", self.where, error)
        await asyncio.sleep(_RETRY)


class Follower:
    """Every replica's side: applies the published states to the store while another replica
    leads. The ConfigMap itself arrives through a reflector into the store (`SOURCE`)."""

    def __init__(self, store: Store, namespace: str, active: Callable[[], bool]) -> None:
        self._store = store
        self._namespace = namespace
        self._active = active
        self._keys = _Keys()
        self._published: Mapping[str, Any] = {}
        self._applied: dict[ProbeTarget, str] = {}
        self._scheduled = False
        self._everything = False  # look at every target, not just the pending ones
        self._pending: set[ProbeTarget] = set()
        store.object_listeners.append(self._on_object)
        store.subscribe(self._on_notice)

    def restart(self) -> None:
        """Leading stopped: take the published states over again, whatever the store holds."""
        self._applied.clear()
        self._schedule(None)

    def _on_object(self, source: str) -> None:
        if source == SOURCE:
            obj = self._store.get_object(SOURCE, self._namespace, CONFIGMAP_NAME)
            data = obj.get("data") if obj is not None else None
            self._published = data if isinstance(data, Mapping) else {}
            self._schedule(None)

    def _on_notice(self, notice: Notice) -> None:
        """New or changed apps may probe a target with a published state."""
        if isinstance(notice, Resync):
            self._schedule(None)
            return
        for change in notice:
            item = change.item
            if change.action not in ("added", "updated") or not isinstance(item, Application):
                continue
            if (target := probe_target(item)) is not None:
                self._schedule(target)

    def _schedule(self, target: ProbeTarget | None) -> None:
        """`target` soon, or every target (None). Later, not inside the store's own update:
        its listeners must see the changes in order."""
        if target is None:
            self._everything = True
        else:
            self._pending.add(target)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.apply)

    def apply(self) -> None:
        everything, pending = self._everything, self._pending
        self._scheduled, self._everything, self._pending = False, False, set()
        if not self._active():
            return
        targets = self._store.probe_targets() if everything else pending
        if everything:
            self._keys.keep(targets)
        for target in targets:
            value = self._published.get(self._keys(target))
            if not isinstance(value, str) or self._applied.get(target) == value:
                continue
            if (availability := decode(value)) is not None:
                self._applied[target] = value
                self._store.set_availability(target, availability)
        if everything and len(self._applied) > len(targets):
            self._applied = {t: v for t, v in self._applied.items() if t in targets}
            self._store.forget_availability(targets)
