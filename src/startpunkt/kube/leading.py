"""Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics.

Several replicas share one Lease. The holder renews it every `retryPeriod`; the others read
it as often and take it over once its holder has not renewed it for `leaseDuration`, measured
on their own clock from when they last saw the record change (never from the timestamps in it,
so clocks need not agree). A leader that cannot renew within `renewDeadline` stops leading
before anyone else may start. Every write carries the `resourceVersion` it was based on, so of
two replicas that try at once, one gets 409 Conflict and stays a follower. On a graceful
shutdown the leader hands the Lease back (no holder, a one-second duration, as client-go's
`ReleaseOnCancel`), so a rolling update fails over within one retry period.

The leader runs the work only one replica should do (probing, writing `.status`, publishing
availability): it starts on acquiring the Lease and is cancelled on losing it. A replica that
cannot use the Lease at all (403: no RBAC for it, or its namespace does not exist) says so once
and does the work itself, as a single replica always did; it tries the Lease again now and then,
so a permission granted later takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import os
import random
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from startpunkt.config import LeaderElection
from startpunkt.kube.api import TRANSIENT, Api, ApiError, JSONObject
from startpunkt.shapes.status import LeaderElectionJSON, Role

log = logging.getLogger(__name__)

GROUP_VERSION = "coordination.k8s.io/v1"

Work = Callable[[], Coroutine[Any, Any, None]]


WORKING = (Role.LEADER, Role.ALONE)


class _Outcome(enum.Enum):
    HELD = "held"  # the Lease is ours (acquired or renewed)
    TAKEN = "taken"  # someone else holds it and it has not expired
    UNUSABLE = "unusable"  # 403, or nowhere to create it
    FAILED = "failed"  # a conflict or a transient error: try again


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    unusable_retry: float = 60.0  # how often a replica acting alone tries the Lease again

    @property
    def collection(self) -> str:
        return f"/apis/{GROUP_VERSION}/namespaces/{self.namespace}/leases"

    @property
    def path(self) -> str:
        return f"{self.collection}/{self.name}"

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.name}"


def identity(environ: Mapping[str, str] | None = None) -> str:
    """The pod name from the downward API; outside a pod, host name and process id."""
    environ = os.environ if environ is None else environ
    return environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


def lease_config(
    settings: LeaderElection,
    fallback_namespace: str,
    *,
    environ: Mapping[str, str] | None = None,
    unusable_retry: float = 60.0,
) -> LeaseConfig:
    """The configured namespace, else the pod's (`POD_NAMESPACE`), else `fallback_namespace`
    (the kubeconfig context's or the service account's)."""
    environ = os.environ if environ is None else environ
    return LeaseConfig(
        name=settings.lease_name,
        namespace=settings.namespace or environ.get("POD_NAMESPACE") or fallback_namespace,
        identity=identity(environ),
        lease_duration=settings.lease_duration,
        renew_deadline=settings.renew_deadline,
        retry_period=settings.retry_period,
        unusable_retry=unusable_retry,
    )


def micro_time(unix: float) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    holder: str
    duration: float  # seconds
    acquire_time: str | None
    renew_time: str | None
    transitions: int

    @classmethod
    def of(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        spec = lease.get("spec")
        spec = spec if isinstance(spec, Mapping) else {}
        duration = spec.get("leaseDurationSeconds")
        transitions = spec.get("leaseTransitions")
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration=float(duration) if isinstance(duration, int | float) else 0.0,
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=transitions if isinstance(transitions, int) else 0,
        )


class LeaderElector:
    """`run()` is one task of the runtime's TaskGroup; `lead()` makes the leader's work."""

    def __init__(
        self,
        api: Api,
        config: LeaseConfig,
        *,
        lead: Work,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._api = api
        self.config = config
        self._lead = lead
        self._rng = rng
        self.role = Role.FOLLOWER
        self.holder: str | None = None
        # set once the Lease was read or written: the election is on, follow its leader
        self.usable = asyncio.Event()
        self.role_listeners: list[Callable[[Role], None]] = []
        self._lease: JSONObject | None = None  # the last object seen, for its resourceVersion
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # loop time the record last changed
        self._renewed_at = 0.0  # loop time of our last successful write
        self._warned = False
        self._failing = False
        self._group: asyncio.TaskGroup | None = None
        self._work: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        """Whether this replica does the leader's work (as the leader, or alone)."""
        return self.role in WORKING

    def status_json(self) -> LeaderElectionJSON:
        return {
            "lease": self.config.where,
            "identity": self.config.identity,
            "holder": self.holder,
            "role": self.role,
        }

    async def run(self) -> None:
        """Campaigns, leads and follows until cancelled; hands the Lease back on the way out."""
        loop = asyncio.get_running_loop()
        log.info("Leader election on Lease %s as %s", self.config.where, self.config.identity)
        try:
            async with asyncio.TaskGroup() as group:  # the leader's work, while leading
                self._group = group
                while True:
                    outcome = await self._round(loop.time())
                    await self._settle(outcome, loop.time())
                    await asyncio.sleep(self._pause())
        finally:
            await self._stop_work()
            await self._release()

    # -- one round ----------------------------------------------------------------------------

    def _pause(self) -> float:
        config = self.config
        if self.role is Role.ALONE:
            return config.unusable_retry
        if self.role is Role.LEADER:
            return config.retry_period
        # a little jitter keeps followers from asking in lockstep
        return config.retry_period * (1.0 + 0.2 * self._rng())

    async def _round(self, now: float) -> _Outcome:
        config = self.config
        budget = config.renew_deadline
        if self.role is Role.LEADER:
            budget = max(0.1, config.renew_deadline - (now - self._renewed_at))
        try:
            async with asyncio.timeout(budget):
                outcome = await self._try_acquire_or_renew()
        except ApiError as e:
            if e.status == 403:
                self._unusable(e)
                return _Outcome.UNUSABLE
            self._failed(str(e))
            self._lease = None  # read it again next time
        except TRANSIENT as e:
            self._failed(f"{type(e).__name__} {e}".strip())
        else:
            self._failing = False
            return outcome
        return _Outcome.FAILED

    def _failed(self, reason: str) -> None:
        """The first failure in a row is a warning; the reflectors report lasting trouble."""
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        log.log(level, "Cannot read or write Lease %s: %s", self.config.where, reason)

    async def _try_acquire_or_renew(self) -> _Outcome:
        config = self.config
        lease = self._lease if self.role is Role.LEADER else None
        if lease is None:  # the leader renews from its own last write: one request, not two
            try:
                lease = await self._api.get(config.path)
            except ApiError as e:
                if e.status != 404:
                    raise
                return await self._create()
            self._observe(lease)
            record = LeaseRecord.of(lease)
            duration = record.duration or config.lease_duration
            loop = asyncio.get_running_loop()
            if (
                record.holder
                and record.holder != config.identity
                and self._observed_at + duration > loop.time()
            ):
                return _Outcome.TAKEN
        record = LeaseRecord.of(lease)
        now = micro_time(time.time())
        ours = record.holder == config.identity
        spec = {
            "holderIdentity": config.identity,
            "leaseDurationSeconds": max(1, math.ceil(config.lease_duration)),
            "acquireTime": record.acquire_time if ours and record.acquire_time else now,
            "renewTime": now,
            "leaseTransitions": record.transitions if ours else record.transitions + 1,
        }
        try:
            written = await self._api.replace(
                config.path, _with_spec(lease, spec), field_manager=_MANAGER
            )
        except ApiError as e:
            if e.status != 409:
                raise
            self._lease = None  # someone else wrote it: read it again
            return _Outcome.FAILED
        self._observe(written)
        return _Outcome.HELD

    async def _create(self) -> _Outcome:
        config = self.config
        now = micro_time(time.time())
        body = {
            "apiVersion": GROUP_VERSION,
            "kind": "Lease",
            "metadata": {
                "name": config.name,
                "namespace": config.namespace,
                "labels": {"app.kubernetes.io/name": "startpunkt"},
            },
            "spec": {
                "holderIdentity": config.identity,
                "leaseDurationSeconds": max(1, math.ceil(config.lease_duration)),
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            created = await self._api.create(config.collection, body, field_manager=_MANAGER)
        except ApiError as e:
            if e.status == 409:  # another replica created it first
                return _Outcome.FAILED
            if e.status == 404:  # no such namespace
                self._unusable(e)
                return _Outcome.UNUSABLE
            raise
        self._observe(created)
        return _Outcome.HELD

    def _observe(self, lease: JSONObject) -> None:
        self._lease = lease
        record = LeaseRecord.of(lease)
        if record != self._observed:
            self._observed = record
            self._observed_at = asyncio.get_running_loop().time()
        if (record.holder or None) != self.holder:
            if record.holder and record.holder != self.config.identity:
                log.info("Lease %s is held by %s", self.config.where, record.holder)
            self.holder = record.holder or None
        if not self.usable.is_set():
            self.usable.set()

    def _unusable(self, error: ApiError) -> None:
        self._lease = None
        if self._warned:
            return
        self._warned = True
        config = self.config
        log.warning(
            "Cannot use Lease %s (%s); this replica probes and writes status by itself. "
            "With several replicas, grant get, update and create on leases in API group "
            "'coordination.k8s.io' in namespace %s (or set "
            "startpunkt.leaderElection.namespace); trying again every %.0f s",
            config.where,
            error,
            config.namespace,
            config.unusable_retry,
        )

    # -- roles --------------------------------------------------------------------------------

    async def _settle(self, outcome: _Outcome, now: float) -> None:
        role = self.role
        if outcome is _Outcome.HELD:
            self._renewed_at = now
            role = Role.LEADER
        elif outcome is _Outcome.TAKEN:
            role = Role.FOLLOWER
        elif outcome is _Outcome.UNUSABLE:
            role = Role.ALONE
        elif role is Role.LEADER and now - self._renewed_at >= self.config.renew_deadline:
            log.warning(
                "Could not renew Lease %s for %.1f s; stopped leading",
                self.config.where,
                now - self._renewed_at,
            )
            role = Role.FOLLOWER
        await self._become(role)

    async def _become(self, role: Role) -> None:
        before = self.role
        if role is before:
            return
        self.role = role
        if role is Role.LEADER:
            log.info("Became the leader (Lease %s, %s)", self.config.where, self.config.identity)
        elif before is Role.ALONE and role is Role.FOLLOWER:
            log.info("Lease %s is usable now; following %s", self.config.where, self.holder)
        elif before is Role.LEADER:
            log.info("No longer the leader (Lease %s)", self.config.where)
        if role in WORKING and before not in WORKING:
            assert self._group is not None
            self._work = self._group.create_task(self._lead(), name="leader's work")
        elif role not in WORKING:
            await self._stop_work()
        for listener in self.role_listeners:
            listener(role)

    async def _stop_work(self) -> None:
        work, self._work = self._work, None
        if work is not None and not work.done():
            work.cancel()
            await asyncio.wait({work})

    async def _release(self) -> None:
        """Hands the Lease back, so a follower takes over at its next look."""
        if self.role is not Role.LEADER or self._lease is None:
            return
        record = LeaseRecord.of(self._lease)
        now = micro_time(time.time())
        spec = {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": record.transitions,
        }
        try:
            async with asyncio.timeout(min(self.config.renew_deadline, 5.0)):
                await self._api.replace(
                    self.config.path, _with_spec(self._lease, spec), field_manager=_MANAGER
                )
        except (ApiError, *TRANSIENT) as e:
            log.warning("Could not release Lease %s: %s", self.config.where, e)
            return
        self.role = Role.FOLLOWER
        log.info("Released Lease %s", self.config.where)


_MANAGER = "startpunkt"


def _with_spec(lease: JSONObject, spec: dict[str, Any]) -> JSONObject:
    """The object to PUT: as read (its resourceVersion makes the write conditional), with a new
    spec and without managedFields, which the server keeps up to date itself."""
    meta = lease.get("metadata")
    meta = {k: v for k, v in meta.items() if k != "managedFields"} if isinstance(meta, dict) else {}
    return {**lease, "metadata": meta, "spec": spec}
