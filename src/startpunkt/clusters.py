"""Which cluster every item came from, and how each cluster is doing.

Objects of every cluster share one store under qualified source names (`store.qualified`), so
the same namespace/name in two clusters is two objects and two items. Mapping stamps each item
with its cluster's name (and, for the others than the local one, a key that names the cluster),
and with the time of last contact while the cluster is out of reach: a cluster that goes away
keeps its items on the page, marked stale, until it comes back or is removed from the
configuration. Marking and unmarking maps the cluster's objects again, so every open page sees
its items change through the usual events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from startpunkt.model import Application, Bookmark, Item, Outcome
from startpunkt.shapes import iso
from startpunkt.shapes.status import ClusterState, ClusterStatusJSON
from startpunkt.store import CLUSTER_SEPARATOR

__all__ = ["STALE_AFTER", "ClusterState", "ClusterStatus", "Clusters"]

log = logging.getLogger(__name__)

# how long a cluster may be out of sync before its items are marked stale (the process's choice)
STALE_AFTER = 2.0


@dataclass(slots=True)
class ClusterStatus:
    name: str
    kind: Literal["local", "kubeconfig", "remote"]
    where: str  # the API server or instance URL (never credentials)
    key: str = ""  # the store's cluster key: "" for the local cluster, else the name
    state: ClusterState = ClusterState.SYNCING
    synced_once: bool = False
    last_contact: float | None = None  # unix time it was last known to be in sync
    stale_since: float | None = None
    error: str | None = None

    def as_json(self) -> ClusterStatusJSON:
        return {
            "name": self.name,
            "kind": self.kind,
            "where": self.where,
            "state": self.state,
            "synced": self.state is ClusterState.SYNCED,
            "lastContact": iso(self.last_contact) if self.last_contact else None,
            "staleSince": iso(self.stale_since) if self.stale_since else None,
            "error": self.error,
        }


class Clusters:
    """Every configured cluster's status, and the stamp mapping puts on its items."""

    def __init__(self, local_name: str = "local", stale_after: float = 0.0) -> None:
        self.local_name = local_name
        # a cluster out of sync for less than this is not marked stale yet: a watch that drops
        # and resumes at once must not send every item of the cluster twice to every page
        self.stale_after = stale_after
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._by_key: dict[str, ClusterStatus] = {}
        # called with a cluster key when its items must be mapped again (stale marks)
        self.listeners: list[Callable[[str], object]] = []

    def add(self, status: ClusterStatus) -> ClusterStatus:
        status.key = "" if status.kind == "local" else status.name
        self._by_key[status.key] = status
        return status

    def statuses(self) -> list[ClusterStatus]:
        return list(self._by_key.values())

    def get(self, key: str) -> ClusterStatus | None:
        return self._by_key.get(key)

    def name_of(self, key: str) -> str:
        return key or self.local_name

    def ready(self) -> bool:
        """Some cluster has been in sync; a page with one cluster's items beats none."""
        return any(s.synced_once for s in self._by_key.values())

    def report(self, key: str, state: ClusterState, error: str | None = None) -> None:
        """A cluster's supervisor says how the cluster is doing now."""
        status = self._by_key.get(key)
        if status is None:
            return
        if state is not ClusterState.STALE and (pending := self._pending.pop(key, None)):
            pending.cancel()
        elif state is ClusterState.STALE and status.stale_since is None and self.stale_after:
            if error is not None:
                status.error = error
            if key not in self._pending and status.synced_once:
                loop = asyncio.get_running_loop()
                self._pending[key] = loop.call_later(self.stale_after, self._confirm, key)
            if status.synced_once:
                return
        self._apply(status, state, error)

    def _confirm(self, key: str) -> None:
        """Still out of sync after `stale_after`: now it is stale."""
        self._pending.pop(key, None)
        if (status := self._by_key.get(key)) is not None:
            self._apply(status, ClusterState.STALE, status.error)

    def _apply(self, status: ClusterStatus, state: ClusterState, error: str | None) -> None:
        key = status.key
        now = time.time()
        if state is ClusterState.SYNCED:
            status.synced_once = True
            status.last_contact = now
            status.error = None
        elif error is not None:
            status.error = error
        if status.synced_once:
            if state is ClusterState.SYNCING:
                # started over (new credentials): stale only once something fails
                state = ClusterState.STALE if error else status.state
            elif state is ClusterState.UNUSABLE:
                state = ClusterState.STALE
        elif state is ClusterState.STALE:
            state = ClusterState.SYNCING  # nothing shown yet that could be stale
        before = status.stale_since
        status.state = state
        status.stale_since = status.last_contact if state is ClusterState.STALE else None
        if (before is None) != (status.stale_since is None):
            if status.stale_since is not None:
                log.warning(
                    "Cluster %s is out of reach (%s); its items stay on the page, marked stale",
                    status.name,
                    status.error or "reconnecting",
                )
            else:
                log.info("Cluster %s is back in sync", status.name)
            for listener in list(self.listeners):
                listener(key)

    def stamp(self, outcome: Outcome, key: str) -> Outcome:
        """An outcome of cluster `key`'s object, with the cluster on its reference and items."""
        name = self.name_of(key)
        status = self._by_key.get(key)
        since = status.stale_since if status else None

        def one(item: Item) -> Item:
            new_key = f"{key}{CLUSTER_SEPARATOR}{item.key}" if key else item.key
            if isinstance(item, Application):
                # EndpointSlices are read from the local cluster only
                services = item.backend_services if not key else ()
                return replace(
                    item, key=new_key, cluster=name, stale_since=since, backend_services=services
                )
            assert isinstance(item, Bookmark)
            return replace(item, key=new_key, cluster=name, stale_since=since)

        return replace(
            outcome,
            ref=replace(outcome.ref, cluster=name),
            items=tuple(one(i) for i in outcome.items),
            derived=tuple(one(i) for i in outcome.derived),
        )
