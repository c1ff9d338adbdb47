"""Where objects come from, as the rest of the process sees it: the cluster's watchers, the
lister used with watching off, or the manifests directory. Each is ready once its first full
read is in the store, reports its health as a typed value, and can be asked to refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from startpunkt.clusters import ClusterStatus
from startpunkt.shapes.status import (
    LeaderElectionJSON,
    ReflectorState,
    Role,
    SourcesJSON,
    SourceStatusJSON,
)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One reflector's health (a source in a namespace, or everywhere)."""

    source: str
    kind: str
    namespace: str | None
    state: ReflectorState
    synced: bool  # listed at least once
    api_version: str | None = None
    resource_version: str | None = None
    last_event: float | None = None
    last_error: str | None = None
    reconnects: int = 0
    relists: int = 0
    events: Mapping[str, int] = field(default_factory=dict)
    cluster: str | None = None  # the configured cluster name, where there are several

    def as_json(self) -> SourceStatusJSON:
        body: SourceStatusJSON = {
            "source": self.source,
            "kind": self.kind,
            "namespace": self.namespace,
            "state": self.state,
            "synced": self.synced,
            "apiVersion": self.api_version,
            "resourceVersion": self.resource_version,
            "lastEvent": self.last_event,
            "lastError": self.last_error,
            "reconnects": self.reconnects,
            "relists": self.relists,
            "events": dict(self.events),
        }
        if self.cluster:
            body["cluster"] = self.cluster
        return body


@dataclass(frozen=True, slots=True)
class LeaderStatus:
    lease: str  # namespace/name
    identity: str
    holder: str | None
    role: Role

    def as_json(self) -> LeaderElectionJSON:
        return {
            "lease": self.lease,
            "identity": self.identity,
            "holder": self.holder,
            "role": self.role,
        }


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """The watchers' or the lister's health (with every cluster's, where there are several)."""

    watching: bool
    ready: bool
    sources: tuple[SourceStatus, ...] = ()
    clusters: tuple[ClusterStatus, ...] | None = None
    leader_election: LeaderStatus | None = None

    def as_json(self) -> SourcesJSON:
        body: SourcesJSON = {
            "watching": self.watching,
            "ready": self.ready,
            "sources": [s.as_json() for s in self.sources],
        }
        if self.clusters is not None:
            body["clusters"] = [c.as_json() for c in self.clusters]
        if self.leader_election is not None:
            body["leaderElection"] = self.leader_election.as_json()
        return body


@dataclass(frozen=True, slots=True)
class ManifestsStatus:
    """The manifests directory's health: files read, and the ones that could not be used."""

    directory: str
    ready: bool
    files: int
    errors: Mapping[str, str] = field(default_factory=dict)  # path -> what is wrong
    # with clusters configured: the other clusters' reflectors, and every cluster
    sources: tuple[SourceStatus, ...] = ()
    clusters: tuple[ClusterStatus, ...] | None = None

    def as_json(self) -> SourcesJSON:
        body: SourcesJSON = {
            "watching": False,
            "manifests": self.directory,
            "ready": self.ready,
            "files": self.files,
            "errors": dict(self.errors),
        }
        if self.clusters is not None:
            body["sources"] = [s.as_json() for s in self.sources]
            body["clusters"] = [c.as_json() for c in self.clusters]
        return body


BackendStatus = WatchStatus | ManifestsStatus


class Backend(Protocol):
    def ready(self) -> bool:
        """The first full read is in the store (so /readyz may say so)."""
        ...

    def status(self) -> BackendStatus: ...

    async def refresh(self) -> None:
        """Brings the store up to date where nothing else does (watching off)."""
        ...


class Unconnected:
    """No backend: always ready, nothing to report, nothing to refresh."""

    def ready(self) -> bool:
        return True

    def status(self) -> BackendStatus:
        return WatchStatus(watching=False, ready=True)

    async def refresh(self) -> None:
        return None
