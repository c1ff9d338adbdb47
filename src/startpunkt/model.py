"""Domain values: what a start page shows, independent of where it came from.

Everything here is frozen, so a value can be shared between the store, the API snapshot and
every open stream without copying.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_LOCATION = 1000
MAX_COMBINING_MARKS = 3  # per base character: enough for Vietnamese, Thai, Hebrew pointing

# bidi embeddings, overrides and isolates, and the implicit marks: text that reorders what is
# around it ("Bank \u202eelgoog.www\u202c" shows as "Bank www.google"); a name needs none
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


@functools.cache
def _mark_runs(astral: bool) -> re.Pattern[str]:
    """Runs of combining marks longer than the cap, built once. The class of the Basic
    Multilingual Plane's marks matches in constant time; the one that also holds the astral
    planes' marks is a list of ranges, so it is used only for text that has such characters."""
    codes = itertools.chain(
        range(0x20000 if astral else 0x10000), range(0xE0000, 0xE1000) if astral else ()
    )
    ranges: list[list[int]] = []
    for code in codes:
        if unicodedata.category(chr(code)) in ("Mn", "Me"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    marks = "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "")
        for low, high in ranges
    )
    return re.compile(f"([{marks}]{{{MAX_COMBINING_MARKS}}})[{marks}]+")


def display_text(value: str) -> str:
    """Text from a cluster object as it may be shown: no bidi controls, no control characters,
    at most MAX_COMBINING_MARKS marks on one character (150 of them paint over the page)."""
    if value.isascii() and value.isprintable():
        return value
    value = _CONTROLS.sub(" ", _BIDI_CONTROLS.sub("", value))
    astral = bool(value) and max(value) > "\uffff"
    return _mark_runs(astral).sub(r"\1", value).strip()


def _clean_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in map(display_text, tags) if t))


def _clean_fields(item: Application | Bookmark) -> None:
    """Every field a page shows goes through display_text, whichever source built the item;
    a name or group with nothing left falls back as a missing one does."""
    for name in ("namespace", "resource_name", "name", "group", "info"):
        value = getattr(item, name)
        if value is not None and (clean := display_text(value)) != value:
            if not clean and name in _FALLBACKS:
                clean = getattr(item, _FALLBACKS[name]) or "?"
            object.__setattr__(item, name, clean)


_FALLBACKS = {"name": "resource_name", "group": "namespace"}


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
    # who may see it (access.py); empty: the configured default audience
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _clean_fields(self)
        if self.tags and (tags := _clean_tags(self.tags)) != self.tags:
            object.__setattr__(self, "tags", tags)

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
    groups: tuple[str, ...] = ()  # who may see it (access.py)

    def __post_init__(self) -> None:
        _clean_fields(self)

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
