"""Domain values: what a start page shows, independent of where it came from.

Everything here is frozen, so a value can be shared between the store, the API snapshot and
every open stream without copying.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_LOCATION = 1000


def sort_location(location: int | None) -> int:
    """The original's rule: a missing location or 0 sorts as 1000."""
    return location if location else DEFAULT_LOCATION


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """A Kubernetes resource type Startpunkt reads, e.g. Startpunkt Application."""

    group: str
    version: str
    plural: str
    kind: str
    label: str  # used in logs and metrics: "Startpunkt Application", "Ingress"
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """`plural.group`, the name RBAC and error messages use."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """Which Kubernetes object a value came from."""

    kind: str  # the ResourceKind label: "Startpunkt Application", "Ingress"
    namespace: str
    name: str
    cluster: str = ""  # the configured cluster name; set when the object is stored

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class Reference:
    """A pointer from one object to another (urlFrom targets, an HTTPRoute's Gateway).

    Matched by API group, kind, namespace and name; the version is only a hint for discovery,
    since the API server serves one object under every version of its group.
    """

    api_version: str
    kind: str
    namespace: str | None  # None for cluster-scoped objects
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}.{self.api_version} {where}"


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """Per-app availability settings from annotations or CRD fields."""

    enabled: bool = True
    url: str | None = None  # health URL; the app URL when None
    accepted: frozenset[int] | None = None  # accepted status codes; the global set when None
    timeout: float | None = None  # seconds; the global timeout when None


@dataclass(frozen=True, slots=True)
class Application:
    key: str  # stable identity: "<source>/<namespace>/<name>[#n]"
    name: str
    group: str
    url: str | None
    source: str  # the Source name: startpunkt-application, ingress, route, ...
    namespace: str
    resource_name: str
    cluster: str = ""  # the configured name of the cluster it came from
    stale_since: float | None = None  # its cluster's last contact, while out of reach
    icon: str | None = None
    icon_color: str | None = None
    info: str | None = None
    target_blank: bool = False
    location: int = DEFAULT_LOCATION
    enabled: bool = True
    root_path: str | None = None
    tags: tuple[str, ...] = ()
    has_owner_references: bool = False
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    # namespace/name of the Services behind the app, for endpoint readiness
    backend_services: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.group.casefold(), sort_location(self.location), self.name.casefold())


@dataclass(frozen=True, slots=True)
class Bookmark:
    key: str
    name: str
    group: str
    url: str
    source: str
    namespace: str
    resource_name: str
    cluster: str = ""
    stale_since: float | None = None
    icon: str | None = None
    info: str | None = None
    target_blank: bool | None = None
    location: int = DEFAULT_LOCATION
    has_owner_references: bool = False

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.group.casefold(), sort_location(self.location), self.name.casefold())


Item = Application | Bookmark


class Verdict(enum.StrEnum):
    SHOWN = "shown"
    HIDDEN = "hidden"  # valid, but filtered out (not annotated, disabled, class filter...)
    REJECTED = "rejected"  # the object is malformed


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one Kubernetes object turned into, and why.

    `items` holds only what is shown; `derived` keeps what a hidden object would have shown, so
    diagnostics can tell the user which URL was derived for it.
    """

    ref: ObjectRef
    verdict: Verdict
    items: tuple[Item, ...] = ()
    reason: str | None = None
    derived: tuple[Item, ...] = ()
    # objects this outcome was computed from; a change to one of them re-maps this object
    depends_on: tuple[Reference, ...] = ()
    # non-fatal remarks for diagnostics ("urlFrom target missing, using spec.url")
    notes: tuple[str, ...] = ()

    @staticmethod
    def shown(ref: ObjectRef, *items: Item) -> Outcome:
        return Outcome(ref, Verdict.SHOWN, items, None, items)

    @staticmethod
    def hidden(ref: ObjectRef, reason: str, *derived: Item) -> Outcome:
        return Outcome(ref, Verdict.HIDDEN, (), reason, derived)

    @staticmethod
    def rejected(ref: ObjectRef, reason: str) -> Outcome:
        return Outcome(ref, Verdict.REJECTED, (), reason)


class State(enum.StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"  # some backend endpoints ready
    SCALED_TO_ZERO = "scaled-to-zero"  # no endpoints and none wanted


@dataclass(frozen=True, slots=True)
class Availability:
    state: State = State.UNKNOWN
    status_code: int | None = None
    latency_ms: float | None = None
    last_checked: float | None = None  # unix time
    error: str | None = None

    @property
    def available(self) -> bool | None:
        """The original's `available` flag; None while unknown (never shown as up)."""
        if self.state is State.UNKNOWN:
            return None
        return self.state in (State.UP, State.DEGRADED)


UNKNOWN = Availability()

ChangeAction = Literal["added", "updated", "removed", "status"]
