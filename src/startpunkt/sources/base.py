"""The contract every source module fulfils: a pure function from a Kubernetes object to an
Outcome. No I/O here; objects a mapping needs to look at (a urlFrom target, an HTTPRoute's
parent Gateway) are read through `MappingContext.lookup`, and named in `Outcome.depends_on` so
the caller re-maps the object when they change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from startpunkt.config import Settings
from startpunkt.model import Outcome, Reference, ResourceKind
from startpunkt.shapes.kube import KubeObject

Lookup = Callable[[Reference], KubeObject | None]


def _no_lookup(_: Reference) -> KubeObject | None:
    return None


@dataclass(frozen=True, slots=True)
class MappingContext:
    settings: Settings
    lookup: Lookup = _no_lookup
    # Homepage's {{HOMEPAGE_VAR_*}} and {{HOMEPAGE_FILE_*}} values, resolved before mapping
    substitutions: Mapping[str, str] = field(default_factory=dict)


Mapper = Callable[[KubeObject, MappingContext], Outcome]


@dataclass(frozen=True, slots=True)
class Source:
    """One resource type Startpunkt reads and how it becomes apps or bookmarks."""

    name: str  # stable id used in keys, metrics and config: "ingress", "startpunkt-application"
    kinds: tuple[ResourceKind, ...]  # preferred version first; discovery picks the first served
    map: Mapper
    enabled: Callable[[Settings], bool]
    produces: str  # "applications" or "bookmarks"
