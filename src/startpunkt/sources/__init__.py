"""Sources: pure functions from a raw Kubernetes object to an Outcome (apps, bookmarks, why).

`SOURCES` lists every kind Startpunkt reads, in precedence order: when the same app arrives
through several sources, the earlier source is the one to keep. `map_object` is the only entry
point the runtime should call: whatever the object contains, it returns an Outcome.
"""

# No `from __future__ import annotations` in this file: it would bind the package attribute
# `annotations` to a compiler flag and hide the `sources.annotations` module from importers.
import logging

from startpunkt.config import Settings
from startpunkt.model import Outcome, ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import hajimari, httproute, ingress, istio, route, startpunkt
from startpunkt.sources.base import Lookup, Mapper, MappingContext, Source
from startpunkt.sources.fields import object_ref

__all__ = [
    "APPLICATION_SOURCES",
    "BOOKMARK_SOURCES",
    "DEPENDENCY_KINDS",
    "ENDPOINTSLICE_KINDS",
    "ENDPOINTSLICE_SOURCE",
    "GATEWAY_KINDS",
    "GATEWAY_SOURCE",
    "SOURCES",
    "KubeObject",
    "Lookup",
    "Mapper",
    "MappingContext",
    "Source",
    "enabled_sources",
    "map_object",
    "source_named",
]

logger = logging.getLogger(__name__)

SOURCES: tuple[Source, ...] = (
    startpunkt.APPLICATION,
    startpunkt.BOOKMARK,
    hajimari.APPLICATION,
    hajimari.BOOKMARK,
    route.SOURCE,
    ingress.SOURCE,
    httproute.SOURCE,
    istio.SOURCE,
)
APPLICATION_SOURCES = frozenset(s.name for s in SOURCES if s.produces == "applications")
BOOKMARK_SOURCES = frozenset(s.name for s in SOURCES if s.produces == "bookmarks")

# Objects read for other objects' sake, under these store source names: Gateways (an
# HTTPRoute's scheme and port) and EndpointSlices (the readiness behind an app's Services).
# The watchers, the manifests directory and the availability checker all use these names.
GATEWAY_KINDS = httproute.GATEWAY_KINDS
GATEWAY_SOURCE = "gateway"
ENDPOINTSLICE_KINDS = tuple(
    ResourceKind("discovery.k8s.io", version, "endpointslices", "EndpointSlice", "EndpointSlice")
    for version in ("v1", "v1beta1")
)
ENDPOINTSLICE_SOURCE = "endpointslice"
DEPENDENCY_KINDS = {GATEWAY_SOURCE: GATEWAY_KINDS, ENDPOINTSLICE_SOURCE: ENDPOINTSLICE_KINDS}

_BY_NAME = {s.name: s for s in SOURCES}
_REASON_LIMIT = 200


def source_named(name: str) -> Source:
    """The Source with this `name`; KeyError for an unknown one."""
    return _BY_NAME[name]


def enabled_sources(settings: Settings) -> tuple[Source, ...]:
    """The sources the configuration switches on, in precedence order."""
    return tuple(s for s in SOURCES if s.enabled(settings))


def map_object(source: Source, obj: KubeObject, ctx: MappingContext) -> Outcome:
    """Maps one object; never raises. An unexpected error rejects this object only."""
    try:
        outcome = source.map(obj, ctx)
    except Exception as e:  # a mapping bug must cost one object, never the page
        logger.warning(
            "%s: mapping %s failed", source.name, object_ref(obj, source.kinds[0]), exc_info=True
        )
        detail = str(e)[:_REASON_LIMIT]
        reason = f"could not be read ({type(e).__name__}: {detail}); this is a Startpunkt bug"
        return Outcome.rejected(object_ref(obj, source.kinds[0]), reason)
    if not isinstance(outcome, Outcome):
        return Outcome.rejected(object_ref(obj, source.kinds[0]), "the mapper returned nothing")
    return outcome
