"""Which APIs the server serves, one shared answer for every reflector.

Optional APIs (Startpunkt's own CRDs, Hajimari, OpenShift, Istio, Gateway API) may be installed
or removed at any time, so an absent one is looked for again every re-check period. Asking per
reflector and per candidate version cost 25-34 requests a minute with every source on and
none installed; here one read of `/apis` (the APIGroupList: every group and the versions it
serves) answers all of them:

- the periodic re-check is one `/apis` read per period, whoever asks, and concurrent askers
  share one request (a failure too);
- a group version's resource list (`/apis/<group>/<version>`) is read only when the group
  version is new in `/apis`, or once a period while a kind looked for in it is still missing
  (a CRD added to a group that already exists);
- a kind that is found is not asked about again: its reflector keeps watching it, and only a
  404 from its watch (the CRD was deleted) makes the next answer a fresh read (`forget`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from startpunkt.kube.api import TRANSIENT, Api, ApiError, JSONObject
from startpunkt.model import ResourceKind

#: the core group's versions are not in `/apis`; v1 is always served
CORE_VERSIONS = frozenset({"v1"})


@dataclass(frozen=True, slots=True)
class _Groups:
    """One read of `/apis`."""

    generation: int  # counts reads, so a resource list knows which read it belongs to
    started: float  # monotonic time the read was sent
    served: frozenset[str]  # every group version listed, "group/version"


@dataclass(frozen=True, slots=True)
class _Resources:
    generation: int  # the `/apis` read this list was fetched under
    resources: tuple[JSONObject, ...] | None  # None: not served


class Discovery:
    """Answers "which of these kinds does the server serve?" from a shared, periodic read.

    `ttl` is the re-check period (`watch.absentRecheck`): an answer may be this old, and an API
    installed later is found by the first periodic check after it appeared.
    """

    def __init__(self, api: Api, ttl: float = 30.0) -> None:
        self._api = api
        self._ttl = ttl
        self._groups: _Groups | None = None
        self._groups_lock = asyncio.Lock()  # one `/apis` read in flight at a time
        self._failure: tuple[float, BaseException] | None = None  # (when, error) of the last
        self._resources: dict[str, _Resources] = {}
        self._resource_locks: dict[str, asyncio.Lock] = {}
        self._generation = 0
        self._forgotten = 0  # `/apis` reads before this generation are not trusted

    def forget(self) -> None:
        """A kind went away under a reflector (404): the next answer reads everything again."""
        self._generation += 1  # so a list still being read now is not trusted either
        self._forgotten = self._generation
        self._resources.clear()

    async def resolve(self, candidates: tuple[ResourceKind, ...]) -> ResourceKind | None:
        """The first candidate the server serves (by group, version and plural), or None."""
        served = await self._served(self._recent)
        for kind in candidates:
            named = _named(kind.plural)
            if any(map(named, await self._resources_of(kind.api_version, served, named) or ())):
                return kind
        return None

    async def find_kind(self, api_version: str, kind: str) -> ResourceKind | None:
        """Kind -> resource by asking the server (no `kind + "s"` guessing)."""

        def matches(resource: JSONObject) -> bool:
            return resource.get("kind") == kind and "/" not in str(resource.get("name", ""))

        served = await self._served(self._recent)
        for resource in await self._resources_of(api_version, served, matches) or ():
            if matches(resource):
                group, _, version = api_version.rpartition("/")
                return ResourceKind(
                    group=group,
                    version=version,
                    plural=str(resource["name"]),
                    kind=kind,
                    label=kind,
                    namespaced=bool(resource.get("namespaced", True)),
                )
        return None

    async def next_check(self) -> None:
        """Waits for the next periodic check and makes sure it was made.

        Every absent kind waits here for the same moment (`ttl` after the last read started),
        so the first one to wake reads `/apis` and the others share that read.
        """
        last = self._groups
        if last is not None:
            delay = last.started + self._ttl - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        after = last.generation if last is not None else 0
        await self._served(lambda groups: groups.generation > after)

    # -- reads ---------------------------------------------------------------------------------

    def _recent(self, groups: _Groups) -> bool:
        return groups.generation > self._forgotten and time.monotonic() - groups.started < self._ttl

    async def _served(self, fresh: Callable[[_Groups], bool]) -> frozenset[str]:
        """The group versions in `/apis`, from a read `fresh` accepts (single flight)."""
        asked = time.monotonic()
        if self._groups is not None and fresh(self._groups):
            return self._groups.served
        async with self._groups_lock:
            if self._groups is not None and fresh(self._groups):
                return self._groups.served  # read by someone else while this one waited
            if self._failure is not None and self._failure[0] >= asked:
                raise self._failure[1]  # failed while this one waited: share the failure
            started = time.monotonic()
            try:
                body = await self._api.get("/apis")
            except (ApiError, *TRANSIENT) as e:
                self._failure = (time.monotonic(), e)
                raise
            self._failure = None
            self._generation += 1
            served = _group_versions(body)
            previous = self._groups.served if self._groups is not None else frozenset()
            for gone in [gv for gv in self._resources if "/" in gv and gv not in served]:
                del self._resources[gone]
            for new in served - previous:
                self._resources.pop(new, None)
            self._groups = _Groups(self._generation, started, served)
            return served

    async def _resources_of(
        self,
        group_version: str,
        served: frozenset[str],
        wanted: Callable[[JSONObject], bool],
    ) -> tuple[JSONObject, ...] | None:
        """The resources of one group version; read again only if the last list is from an
        older `/apis` read and lacks what is `wanted`."""
        if group_version not in served and group_version not in CORE_VERSIONS:
            return None

        def usable() -> _Resources | None:
            cached = self._resources.get(group_version)
            if cached is None or cached.generation < self._forgotten:
                return None
            if cached.generation >= self._generation or any(map(wanted, cached.resources or ())):
                return cached
            return None

        if cached := usable():
            return cached.resources
        lock = self._resource_locks.setdefault(group_version, asyncio.Lock())
        async with lock:
            if cached := usable():
                return cached.resources
            generation = self._generation
            path = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
            try:
                body = await self._api.get(path)
                resources = tuple(r for r in body.get("resources") or () if isinstance(r, dict))
            except ApiError as e:
                if e.status not in (404, 503):
                    raise
                resources = None  # not served (503: an aggregated API that is down)
            self._resources[group_version] = _Resources(generation, resources)
            return resources


def _named(plural: str) -> Callable[[JSONObject], bool]:
    return lambda resource: resource.get("name") == plural


def _group_versions(body: JSONObject) -> frozenset[str]:
    """`group/version` of every version every group in an APIGroupList serves."""
    found: set[str] = set()
    for group in body.get("groups") or ():
        if not isinstance(group, dict):
            continue
        for version in group.get("versions") or ():
            if isinstance(version, dict) and isinstance(gv := version.get("groupVersion"), str):
                found.add(gv)
    return frozenset(found)
