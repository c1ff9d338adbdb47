"""The JSON shapes of the process's health: `/api/sources`, `/readyz`, `/livez`, and errors."""

from __future__ import annotations

import enum
from typing import Annotated, Literal, NotRequired, TypedDict

from startpunkt.shapes.schema import doc


class ReflectorState(enum.StrEnum):
    SYNCING = "syncing"
    SYNCED = "synced"
    RECONNECTING = "reconnecting"
    ABSENT = "absent"
    FORBIDDEN = "forbidden"


class ClusterState(enum.StrEnum):
    SYNCING = "syncing"  # not listed completely yet
    SYNCED = "synced"
    STALE = "stale"  # listed once, out of reach now: its items are kept and marked
    UNUSABLE = "unusable"  # its configuration or credentials cannot be used; see `error`


class Role(enum.StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"
    ALONE = "alone"  # the Lease cannot be used: this replica does everything itself


class SourceStatusJSON(TypedDict):
    """One reflector: a source's kind in one namespace (or all of them)."""

    source: str
    cluster: NotRequired[Annotated[str, doc("the configured name of its cluster")]]
    kind: str
    namespace: str | None
    state: ReflectorState
    synced: Annotated[bool, doc("listed at least once")]
    apiVersion: str | None
    resourceVersion: str | None
    lastEvent: Annotated[float | None, doc("unix time of the last watch event")]
    lastError: Annotated[
        str | None,
        doc("a category such as `403 Forbidden` or `ConnectError`; the full text is in the log"),
    ]
    reconnects: int
    relists: int
    events: Annotated[dict[str, int], doc("watch events received, by type")]


class ClusterStatusJSON(TypedDict):
    """One cluster: the local one, one watched directly, or a followed Startpunkt."""

    name: str
    kind: Literal["local", "kubeconfig", "remote"]
    where: Annotated[str, doc("its API server or instance URL (never a file path)")]
    state: ClusterState
    synced: Annotated[bool, doc("in sync now")]
    lastContact: Annotated[str | None, doc("when it was last known to be in sync")]
    staleSince: Annotated[str | None, doc("set while its items are marked stale")]
    error: Annotated[
        str | None,
        doc("a category such as `403 Forbidden` or `ConnectError`; the full text is in the log"),
    ]


class LeaderElectionJSON(TypedDict):
    lease: str
    identity: str
    holder: str | None
    role: Role


class SourcesJSON(TypedDict, total=False):
    watching: bool
    ready: bool
    leaderElection: Annotated[
        LeaderElectionJSON, doc("present when several replicas elect a leader")
    ]
    sources: list[SourceStatusJSON]
    clusters: Annotated[list[ClusterStatusJSON], doc("every configured cluster")]
    manifests: Annotated[str, doc("with --manifests: the directory's own name, not its path")]
    files: Annotated[int, doc("with --manifests: how many files were read")]
    errors: Annotated[
        dict[str, str], doc("with --manifests: file (relative) -> what is wrong with it")
    ]


class HealthJSON(TypedDict):
    status: str
    sources: NotRequired[SourcesJSON]


class ErrorJSON(TypedDict):
    error: str
    status: int
    notSynced: NotRequired[Annotated[list[str], doc("with 503 from /readyz")]]
    sources: NotRequired[SourcesJSON]
