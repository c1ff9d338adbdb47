"""Writes what Startpunkt made of its own custom resources into their `.status`.

`kubectl get stapp` then shows each Application's resolved URL and availability, and
`kubectl describe` says why an object is not on the page (the `Shown` condition), without
anyone opening the diagnostics page. Only the status subresource is written, with merge
patches, and only when something a reader would notice changed: the state, the URL or a
condition (or, with `status.refresh` set, a `lastChecked` older than that). Probing alone
writes nothing, so a large cluster is not rewritten every probe interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, TypedDict

from startpunkt.config import Settings
from startpunkt.kube.api import TRANSIENT, Api, ApiError
from startpunkt.model import Application, Availability, Item, Outcome, State, Verdict
from startpunkt.shapes import iso
from startpunkt.shapes.kube import Condition, ConditionStatus, KubeObject, ObjectStatus
from startpunkt.store import Store

log = logging.getLogger(__name__)

# the sources whose objects are Startpunkt's own, and where their status lives
REPORTED = {
    "startpunkt-application": "applications",
    "startpunkt-bookmark": "bookmarks",
}
GROUP_VERSION = "startpunkt.ullberg.us/v1alpha4"
_CONCURRENCY = 8
_PASS_INTERVAL = 1.0  # at most one pass over the objects a second


_CONDITION_STATUS: dict[bool | None, ConditionStatus] = {
    True: "True",
    False: "False",
    None: "Unknown",
}


def _condition(type_: str, status: ConditionStatus, *, reason: str, message: str) -> Condition:
    return {"type": type_, "status": status, "reason": reason, "message": message[:2000]}


def _shown(outcome: Outcome | None) -> Condition:
    if outcome is None:
        return _condition("Shown", "Unknown", reason="NotMapped", message="not read yet")
    if outcome.verdict is Verdict.SHOWN:
        # notes say what was overridden on the way, e.g. a refused urlFrom and the fallback URL
        notes = "".join(f"; {note}" for note in outcome.notes)
        return _condition("Shown", "True", reason="Shown", message=f"on the start page{notes}")
    reason = "Rejected" if outcome.verdict is Verdict.REJECTED else "Hidden"
    return _condition("Shown", "False", reason=reason, message=outcome.reason or "")


def _available(availability: Availability) -> Condition:
    state = availability.state
    status = _CONDITION_STATUS[availability.available]
    reason = "".join(part.title() for part in state.value.split("-"))
    if availability.error:
        message = availability.error
    elif availability.status_code is not None:
        # no latency here: it differs on every probe and would rewrite the object each time
        message = f"HTTP {availability.status_code}"
    else:
        message = "not checked yet" if state is State.UNKNOWN else state.value
    return _condition("Available", status, reason=reason, message=message)


def _first_item(outcome: Outcome | None) -> Item | None:
    """What the object shows, or would show if it were not hidden."""
    items = (outcome.items or outcome.derived) if outcome else ()
    return items[0] if items else None


class _Checked(TypedDict, total=False):
    available: bool | None
    lastChecked: str | None


class _Observed(TypedDict, total=False):
    observedGeneration: int


def desired_status(
    obj: KubeObject,
    outcome: Outcome | None,
    *,
    availability: Availability | None,
    now: float,
) -> ObjectStatus:
    """The status an object should carry; `lastTransitionTime` is kept from the current status
    for conditions whose status did not change. Pure: no I/O."""
    item = _first_item(outcome)
    conditions = [_shown(outcome)]
    checked: _Checked = {}
    if isinstance(item, Application) and availability is not None:
        conditions.append(_available(availability))
        checked["available"] = availability.available
        checked["lastChecked"] = (
            iso(availability.last_checked) if availability.last_checked else None
        )
    current = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    before = {
        c.get("type"): c for c in (current or {}).get("conditions") or () if isinstance(c, Mapping)
    }
    generation = (obj.get("metadata") or {}).get("generation")
    for condition in conditions:
        previous = before.get(condition["type"])
        unchanged = previous is not None and previous.get("status") == condition["status"]
        condition["lastTransitionTime"] = (
            str(previous.get("lastTransitionTime")) if unchanged and previous else iso(now)
        )
        if isinstance(generation, int):
            condition["observedGeneration"] = generation
    observed: _Observed = {"observedGeneration": generation} if isinstance(generation, int) else {}
    return {"url": item.url if item else None, **checked, "conditions": conditions, **observed}


def _comparable(status: Mapping[str, Any] | None) -> Any:
    """What decides whether a write is needed: everything but the clock-driven fields."""
    status = status or {}
    return (
        status.get("url"),
        status.get("available"),
        status.get("observedGeneration"),
        tuple(
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
            for c in status.get("conditions") or ()
            if isinstance(c, Mapping)
        ),
    )


class StatusReporter:
    def __init__(
        self, api: Api, store: Store, *, settings: Settings, field_manager: str | None = None
    ) -> None:
        self._api = api
        self._manager = field_manager
        self._store = store
        self._refresh = settings.status.refresh
        self._dirty = asyncio.Event()
        self._written: dict[tuple[str, str, str], tuple[Any, float]] = {}
        self._forbidden = False
        store.subscribe(lambda _: self._dirty.set())
        store.object_listeners.append(self._on_object)

    def _on_object(self, source: str) -> None:
        if source in REPORTED:
            self._dirty.set()

    async def run(self) -> None:
        """Writes until cancelled. Running again (a replica that leads again) compares with
        the objects as they are now, since another replica may have written meanwhile."""
        self._written.clear()
        self._dirty.set()
        while True:
            try:
                async with asyncio.timeout(self._refresh or None):
                    await self._dirty.wait()
            except TimeoutError:
                pass  # time to refresh lastChecked
            self._dirty.clear()
            await self._pass()
            await asyncio.sleep(_PASS_INTERVAL)

    async def _pass(self) -> None:
        now = time.time()
        work = []
        present = set()
        for source, plural in REPORTED.items():
            for obj in self._store.objects(source):
                meta = obj.get("metadata") or {}
                key = (source, str(meta.get("namespace", "")), str(meta.get("name", "")))
                present.add(key)
                outcome = self._store.outcome(*key)
                availability = self._availability(outcome)
                desired = desired_status(obj, outcome, availability=availability, now=now)
                if self._needed(key, obj, desired=desired, now=now):
                    work.append((key, plural, desired))
        for gone in self._written.keys() - present:
            del self._written[gone]
        if not work:
            return
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def write(key: tuple[str, str, str], plural: str, desired: ObjectStatus) -> None:
            async with limit:
                await self._write(key, plural, desired=desired, now=now)

        await asyncio.gather(*(write(*w) for w in work))

    def _availability(self, outcome: Outcome | None) -> Availability | None:
        item = _first_item(outcome)
        return self._store.availability_of(item) if isinstance(item, Application) else None

    def _needed(
        self, key: tuple[str, str, str], obj: KubeObject, *, desired: ObjectStatus, now: float
    ) -> bool:
        wanted = _comparable(desired)
        written = self._written.get(key)
        if written is not None and written[0] == wanted:
            stale = bool(self._refresh) and now - written[1] >= self._refresh
            return stale and "lastChecked" in desired
        current = obj.get("status") if isinstance(obj.get("status"), Mapping) else None
        if written is None and _comparable(current) == wanted:
            self._written[key] = (wanted, now)  # already right, e.g. written before a restart
            return False
        return True

    async def _write(
        self, key: tuple[str, str, str], plural: str, *, desired: ObjectStatus, now: float
    ) -> None:
        _, namespace, name = key
        path = f"/apis/{GROUP_VERSION}/namespaces/{namespace}/{plural}/{name}/status"
        log.debug("Writing the status of %s %s/%s: %s", plural, namespace, name, desired)
        try:
            await self._api.patch(path, {"status": desired}, field_manager=self._manager)
        except TRANSIENT as e:
            # the reflectors report connection trouble; this write is simply tried again
            log.debug("Status of %s %s/%s not written: %r", plural, namespace, name, e)
            self._dirty.set()
            return
        except ApiError as e:
            if e.status == 404:
                self._written.pop(key, None)  # deleted meanwhile
                return
            if e.status == 403 and not self._forbidden:
                self._forbidden = True
                log.error(
                    "Forbidden: cannot patch %s/status in %s. Grant patch on %s/status in API "
                    "group 'startpunkt.ullberg.us', or set startpunkt.status.enabled: false (%s)",
                    plural,
                    namespace,
                    plural,
                    e.message,
                )
            elif e.status != 403:
                log.warning("Cannot write the status of %s %s/%s: %s", plural, namespace, name, e)
            return
        self._written[key] = (_comparable(desired), now)
