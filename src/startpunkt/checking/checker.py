"""The availability checker: one long-running task that keeps every probe result fresh.

Scheduling is per target, not per round: each target has a due time, a heap orders them, and
at most `concurrency` probes run at once (one task each, so a removed target's probe can be
cancelled on its own). A target is next due `interval` after its probe *started*, so the period
does not drift with latency; a failing target waits `retry_delay()` instead. When probing
everything takes longer than the interval, the most overdue targets go first and no target is
ever probed twice at the same time, so rounds never overlap.

The store tells the checker when apps change (a listener), and a new target is due at once.
A removed target leaves the schedule at once too: its in-flight probe is cancelled, and any
result that still arrives for a target no longer in the store is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import ssl
import time
from dataclasses import dataclass, replace
from typing import NoReturn

import httpx
from prometheus_client import CollectorRegistry

from startpunkt.checking.metrics import Metrics
from startpunkt.checking.probing import (
    ProbeOutcome,
    ProbeResult,
    make_transport,
    probe,
    redact,
    tls_context,
)
from startpunkt.checking.readiness import (
    Readiness,
    combine,
    endpoint_readiness,
    service_of,
)
from startpunkt.config import Backoff, Settings
from startpunkt.model import State
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import ENDPOINTSLICE_SOURCE
from startpunkt.store import Notice, ProbeTarget, Resync, Store, probe_target

log = logging.getLogger(__name__)


def retry_delay(failures: int, interval: float, backoff: Backoff) -> float:
    """Seconds from the start of one probe to the start of the next.

    `interval` after a success; after the n-th failure in a row
    `min(initial_delay * multiplier ** (n - 1), max_delay)`, but never less than `interval`:
    backoff only ever slows probing of a failing target down, it never speeds it up.
    """
    if failures <= 0:
        return interval
    try:
        delay = backoff.initial_delay * backoff.multiplier ** (failures - 1)
    except OverflowError:
        delay = backoff.max_delay
    return max(interval, min(delay, backoff.max_delay))


@dataclass(slots=True)
class _Last:
    """The last HTTP result for a target and the state it was published with."""

    result: ProbeResult
    checked_at: float  # unix time
    state: State


class Checker:
    """Probes every distinct ProbeTarget of the store and writes the verdicts back to it.

    `run()` is one task of the runtime's TaskGroup. `readiness_changed()` is the hook for
    EndpointSlice changes, which the store does not announce to its listeners.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """`transport`: one httpx transport for every probe instead of a fresh connection pool
        per probe (httpx's test seam; it stays the caller's to close). `registry` receives the
        metrics; with None nothing is registered."""
        self._settings = settings.availability
        self._store = store
        self._transport = transport
        self._metrics = Metrics(store, registry)
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._start_over()

    def _start_over(self) -> None:
        """An empty schedule: every target the store has is due at once."""
        self._known: set[ProbeTarget] = set()
        self._due: dict[ProbeTarget, float] = {}  # loop time; absent while in flight
        self._queue: list[tuple[float, int, ProbeTarget]] = []  # heap; stale entries skipped
        self._inflight: dict[ProbeTarget, asyncio.Task[None]] = {}
        self._failures: dict[ProbeTarget, int] = {}
        self._last: dict[ProbeTarget, _Last] = {}
        self._services: dict[ProbeTarget, frozenset[str]] = {}
        self._slices: dict[str, list[KubeObject]] = {}  # by "namespace/service"
        self._targets_stale = True
        self._services_stale = True
        self._readiness_stale = True
        self._readiness_due = 0.0

    async def run(self) -> None:
        """Probes until cancelled; never returns (a returning task would freeze the page).

        Cancelling stops every probe in flight; running again starts from an empty schedule
        (a replica that leads again after following), with the store's availability kept."""
        if not self._settings.enabled:
            log.info("availability checking is disabled")
            await asyncio.Event().wait()
        self._start_over()
        tls = tls_context(self._settings)
        unsubscribe = self._store.subscribe(self._on_notice)
        try:
            async with asyncio.TaskGroup() as probes:
                await self._schedule(probes, tls)
        finally:
            unsubscribe()

    def readiness_changed(self) -> None:
        """EndpointSlices changed in the store: re-evaluate readiness soon (bursts coalesce)."""
        self._readiness_stale = True
        self._wake.set()

    # -- the schedule ----------------------------------------------------------------------

    async def _schedule(self, probes: asyncio.TaskGroup, tls: ssl.SSLContext) -> NoReturn:
        loop = asyncio.get_running_loop()
        limit = self._settings.concurrency
        while True:
            self._wake.clear()
            now = loop.time()
            self._refresh(now)
            while len(self._inflight) < limit and self._queue and self._queue[0][0] <= now:
                due, _, target = heapq.heappop(self._queue)
                if self._due.get(target) != due:
                    continue  # removed, or already rescheduled
                del self._due[target]
                self._inflight[target] = probes.create_task(
                    self._probe(tls, target), name=f"probe {redact(target.url)}"
                )
            wake_at = self._readiness_due
            if self._queue and len(self._inflight) < limit:
                wake_at = min(wake_at, self._queue[0][0])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(wake_at):
                    await self._wake.wait()

    def _enqueue(self, target: ProbeTarget, due: float) -> None:
        self._due[target] = due
        heapq.heappush(self._queue, (due, next(self._order), target))

    def _on_notice(self, notice: Notice) -> None:
        """Store listener: runs inside the store's update, so it only marks and wakes."""
        if isinstance(notice, Resync) or any(c.action != "status" for c in notice):
            self._targets_stale = True
            self._services_stale = True
            self._wake.set()

    def _refresh(self, now: float) -> None:
        if self._targets_stale:
            self._sync_targets(now)
        if self._services_stale:
            self._index_services()
        if self._readiness_stale or now >= self._readiness_due:
            self._index_slices()
            for target in list(self._last):
                self._publish(target, fresh=False)
            self._readiness_stale = False
            self._readiness_due = now + self._settings.interval

    def _sync_targets(self, now: float) -> None:
        current = self._store.probe_targets()
        removed = self._known - current
        for target in removed:
            self._due.pop(target, None)
            self._failures.pop(target, None)
            self._last.pop(target, None)
            if (task := self._inflight.pop(target, None)) is not None:
                task.cancel()
        for target in current - self._known:
            self._enqueue(target, now)
        if removed:
            self._store.forget_availability(current)
            self._metrics.forget(current)
            log.debug("stopped probing %d removed target(s)", len(removed))
        self._known = current
        self._targets_stale = False

    # -- one probe -------------------------------------------------------------------------

    async def _probe(self, tls: ssl.SSLContext, target: ProbeTarget) -> None:
        started = asyncio.get_running_loop().time()
        try:
            if self._transport is not None:
                result = await probe(self._transport, target, self._settings)
            else:
                async with make_transport(tls) as transport:  # closed even when cancelled
                    result = await probe(transport, target, self._settings)
        except Exception:  # a bug here must not stop the checking of every other app
            log.exception("probing %s failed unexpectedly", redact(target.url))
            result = ProbeResult(ProbeOutcome.ERROR, error="internal error while probing")
        finally:
            if self._inflight.get(target) is asyncio.current_task():
                del self._inflight[target]
            self._wake.set()
        self._record(target, result, started)

    def _record(self, target: ProbeTarget, result: ProbeResult, started: float) -> None:
        if self._targets_stale:
            self._sync_targets(asyncio.get_running_loop().time())
        if target not in self._known:
            log.debug("dropped the result for %s: no app uses it any more", redact(target.url))
            return
        failures = self._failures.get(target, 0) + 1 if result.failed else 0
        if failures:
            self._failures[target] = failures
        else:
            self._failures.pop(target, None)
        backoff = self._settings.backoff
        delay = retry_delay(failures, self._settings.interval, backoff)
        self._enqueue(target, started + delay)
        if failures and failures == self._settings.max_retries:
            log.warning(
                "%s has failed %d checks in a row (availability.maxRetries): %s; "
                "checking it every %.0f s until it answers",
                redact(target.url),
                failures,
                result.error or f"HTTP {result.status_code}",
                delay,
            )
        self._metrics.observe(target, result)
        last = self._last.get(target)
        self._last[target] = _Last(result, time.time(), last.state if last else State.UNKNOWN)
        self._publish(target, fresh=True)

    def _publish(self, target: ProbeTarget, fresh: bool) -> None:
        """Writes the combined verdict; `fresh` for a new probe result, else only on change."""
        last = self._last[target]
        availability = combine(last.result, self._readiness(target), last.checked_at)
        if availability.state is not last.state:
            first = last.state is State.UNKNOWN and availability.state is not State.DOWN
            level = logging.DEBUG if first else logging.INFO
            log.log(
                level,
                "%s is %s (was %s): %s",
                redact(target.url),
                availability.state.value,
                last.state.value,
                availability.error or f"HTTP {availability.status_code}",
            )
            last.state = availability.state
        elif not fresh:
            return  # a readiness pass that changed nothing: the stored value is current
        if not self._settings.publish_details:
            # the store feeds the API, the stream and the page: the state only, by default
            availability = replace(availability, status_code=None, latency_ms=None, error=None)
        self._store.set_availability(target, availability)

    # -- readiness -------------------------------------------------------------------------

    def _readiness(self, target: ProbeTarget) -> Readiness:
        services = self._services.get(target)
        if not services:
            return "unknown"
        slices = [s for service in services for s in self._slices.get(service, ())]
        return endpoint_readiness(slices, services)

    def _index_services(self) -> None:
        """Backend Services per target: the union over every app that shares the target."""
        services: dict[ProbeTarget, set[str]] = {}
        for app in self._store.snapshot().applications:
            if app.backend_services and (target := probe_target(app)) is not None:
                services.setdefault(target, set()).update(app.backend_services)
        self._services = {t: frozenset(s) for t, s in services.items()}
        self._services_stale = False
        self._readiness_stale = True

    def _index_slices(self) -> None:
        self._slices = {}
        if not self._services:
            return
        for endpoint_slice in self._store.objects(ENDPOINTSLICE_SOURCE):
            if (service := service_of(endpoint_slice)) is not None:
                self._slices.setdefault(service, []).append(endpoint_slice)
