"""The JSON shapes of the REST API and the event stream (the original's shapes), and the
functions that build them from domain values.

Every body `/api/*` sends is one of the TypedDicts here; `web/openapi.py` generates its schemas
from them, so the document and the server cannot disagree. Absent values are omitted, as the
original did (`@JsonInclude(NON_EMPTY)`), except `available`, which is always present: `null`
says "not checked yet", never "up".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, NotRequired, TypedDict, TypeVar

from startpunkt.model import Application, Availability, Bookmark, Item, State, Verdict
from startpunkt.shapes.schema import doc

Timestamp = Annotated[str, doc(format="date-time")]
Key = Annotated[str, doc("stable identity: <source>/<namespace>/<name>[#n]")]
Location = Annotated[int, doc("sort position in the group; 0 or missing is 1000")]
SourceName = Annotated[str, doc("startpunkt, hajimari, ingress, route, ...")]
Revision = Annotated[int, doc("store revision of this snapshot; resume the stream here")]
ClusterName = Annotated[str, doc("the configured name of the item's cluster")]
Stale = Annotated[bool, doc("present (true) while the item's cluster is out of reach")]
LastContact = Annotated[
    str, doc("when the stale item's cluster was last in sync", format="date-time")
]


class ApplicationJSON(TypedDict):
    key: Key
    name: str
    group: str
    icon: NotRequired[str]
    iconColor: NotRequired[str]
    url: NotRequired[str]
    info: NotRequired[str]
    targetBlank: bool
    location: Location
    enabled: bool
    rootPath: NotRequired[str]
    tags: NotRequired[Annotated[str, doc("comma-separated, as authored")]]
    namespace: NotRequired[str]
    resourceName: NotRequired[str]
    hasOwnerReferences: bool
    source: SourceName
    cluster: NotRequired[ClusterName]
    stale: NotRequired[Stale]
    lastContact: NotRequired[LastContact]
    status: State
    statusCode: NotRequired[Annotated[int, doc("only with availability.publishDetails: true")]]
    latencyMs: NotRequired[Annotated[float, doc("only with availability.publishDetails: true")]]
    lastChecked: NotRequired[Timestamp]
    available: Annotated[
        bool | None, doc("null until the first check: never shown as up before that")
    ]


class BookmarkJSON(TypedDict):
    key: Key
    name: str
    group: str
    icon: NotRequired[str]
    url: str
    info: NotRequired[str]
    targetBlank: NotRequired[bool]
    location: Location
    namespace: NotRequired[str]
    resourceName: NotRequired[str]
    hasOwnerReferences: bool
    source: SourceName
    cluster: NotRequired[ClusterName]
    stale: NotRequired[Stale]
    lastContact: NotRequired[LastContact]


class ItemKeyJSON(TypedDict):
    """What a removal carries: enough to find the card, nothing more."""

    key: str
    name: str
    group: str
    namespace: str
    resourceName: str
    cluster: NotRequired[ClusterName]
    stale: NotRequired[Stale]
    lastContact: NotRequired[LastContact]


class ApplicationGroupJSON(TypedDict):
    name: str
    applications: list[ApplicationJSON]


class ApplicationGroupsJSON(TypedDict):
    groups: list[ApplicationGroupJSON]
    revision: Revision


class BookmarkGroupJSON(TypedDict):
    name: str
    bookmarks: list[BookmarkJSON]


class BookmarkGroupsJSON(TypedDict):
    groups: list[BookmarkGroupJSON]
    revision: Revision


class WebConfigJSON(TypedDict):
    showGithubLink: bool
    checkForUpdates: bool
    title: str
    refreshInterval: Annotated[int, doc("seconds between polls without SSE")]
    searchEngine: str


class RealtimeConfigJSON(TypedDict):
    enabled: bool
    heartbeatInterval: Annotated[int, doc("milliseconds")]


class WebsocketConfigJSON(TypedDict):
    enabled: Annotated[bool, doc("/api/ws/updates is served")]


class ConfigBodyJSON(TypedDict):
    version: str
    web: WebConfigJSON
    realtime: RealtimeConfigJSON
    websocket: WebsocketConfigJSON


class ConfigJSON(TypedDict):
    config: ConfigBodyJSON


class ThemeColorsJSON(TypedDict):
    bodyBgColor: str
    bodyColor: str
    emphasisColor: str
    textPrimaryColor: str
    textAccentColor: str


class ThemeJSON(TypedDict):
    light: ThemeColorsJSON
    dark: ThemeColorsJSON


TranslationsJSON = Annotated[dict[str, Any], doc("the raw bundle: nested strings")]


class DiagnosticJSON(TypedDict):
    source: str | None
    kind: str
    namespace: str
    name: str
    verdict: Verdict
    reason: str | None
    notes: list[str]
    urls: list[str]
    items: list[str]
    cluster: NotRequired[ClusterName]


class DiagnosticsJSON(TypedDict):
    objects: list[DiagnosticJSON]


# -- the event stream -----------------------------------------------------------------------

EventType = Literal[
    "APPLICATION_ADDED",
    "APPLICATION_UPDATED",
    "STATUS_CHANGED",
    "APPLICATION_REMOVED",
    "BOOKMARK_ADDED",
    "BOOKMARK_UPDATED",
    "BOOKMARK_REMOVED",
    "HEARTBEAT",
    "RESYNC",
    "CONFIG_CHANGED",
]


class HeartbeatJSON(TypedDict):
    timestamp: Annotated[int, doc("unix time, milliseconds")]
    revision: Annotated[int, doc("the store revision now")]


class ResyncJSON(TypedDict):
    revision: int


class ConfigChangedJSON(TypedDict):
    changed: Annotated[list[str], doc("the settings that changed; the page reloads")]


class PageFragmentJSON(TypedDict):
    """The start page's own stream (`?view=page`): an added or updated card as the server
    renders it, inside its group, so the page renders no card itself."""

    key: str
    kind: Literal["app", "bookmark"]
    html: Annotated[str, doc("the item's group holding just this card, in the page's language")]


EventData = (
    ApplicationJSON
    | BookmarkJSON
    | ItemKeyJSON
    | HeartbeatJSON
    | ResyncJSON
    | ConfigChangedJSON
    | PageFragmentJSON
)

# which data each event type carries
EVENT_DATA: dict[EventType, type] = {
    "APPLICATION_ADDED": ApplicationJSON,
    "APPLICATION_UPDATED": ApplicationJSON,
    "STATUS_CHANGED": ApplicationJSON,
    "APPLICATION_REMOVED": ItemKeyJSON,
    "BOOKMARK_ADDED": BookmarkJSON,
    "BOOKMARK_UPDATED": BookmarkJSON,
    "BOOKMARK_REMOVED": ItemKeyJSON,
    "HEARTBEAT": HeartbeatJSON,
    "RESYNC": ResyncJSON,
    "CONFIG_CHANGED": ConfigChangedJSON,
}


class EnvelopeJSON(TypedDict):
    """The `data:` of one SSE event and one WebSocket text frame."""

    type: EventType
    timestamp: Timestamp
    data: EventData


# -- builders -------------------------------------------------------------------------------


def iso(ts: float) -> str:
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def envelope(type_: EventType, data: EventData, timestamp: float) -> EnvelopeJSON:
    return {"type": type_, "timestamp": iso(timestamp), "data": data}


class _Looks(TypedDict, total=False):
    icon: str
    iconColor: str
    url: str
    info: str


class _Place(TypedDict, total=False):
    rootPath: str
    tags: str
    namespace: str
    resourceName: str


class _Cluster(TypedDict, total=False):
    cluster: str
    stale: bool
    lastContact: str


def cluster_fields(item: Item) -> _Cluster:
    """The item's cluster, and while that cluster is out of reach, `stale` and the time of
    last contact."""
    fields: _Cluster = {"cluster": item.cluster} if item.cluster else {}
    if item.stale_since is not None:
        fields["stale"] = True
        fields["lastContact"] = iso(item.stale_since)
    return fields


class _Details(TypedDict, total=False):
    statusCode: int
    latencyMs: float
    lastChecked: str


def application(app: Application, availability: Availability) -> ApplicationJSON:
    # optional keys are gathered apart so that the body keeps the original's key order
    looks: _Looks = {}
    if app.icon:
        looks["icon"] = app.icon
    if app.icon_color:
        looks["iconColor"] = app.icon_color
    if app.url:
        looks["url"] = app.url
    if app.info:
        looks["info"] = app.info
    place: _Place = {}
    if app.root_path:
        place["rootPath"] = app.root_path
    if app.tags:
        place["tags"] = ",".join(app.tags)
    if app.namespace:
        place["namespace"] = app.namespace
    if app.resource_name:
        place["resourceName"] = app.resource_name
    details: _Details = {}
    if availability.status_code is not None:
        details["statusCode"] = availability.status_code
    if availability.latency_ms is not None:
        details["latencyMs"] = availability.latency_ms
    if availability.last_checked:
        details["lastChecked"] = iso(availability.last_checked)
    return {
        "key": app.key,
        "name": app.name,
        "group": app.group,
        **looks,
        "targetBlank": app.target_blank,
        "location": app.location,
        "enabled": app.enabled,
        **place,
        "hasOwnerReferences": app.has_owner_references,
        "source": app.source,
        **cluster_fields(app),
        "status": availability.state,
        **details,
        "available": availability.available,
    }


class _BookmarkLooks(TypedDict, total=False):
    icon: str


class _BookmarkText(TypedDict, total=False):
    info: str
    targetBlank: bool


class _BookmarkPlace(TypedDict, total=False):
    namespace: str
    resourceName: str


def bookmark(mark: Bookmark) -> BookmarkJSON:
    looks: _BookmarkLooks = {"icon": mark.icon} if mark.icon else {}
    text: _BookmarkText = {}
    if mark.info:
        text["info"] = mark.info
    if mark.target_blank is not None:
        text["targetBlank"] = mark.target_blank
    place: _BookmarkPlace = {}
    if mark.namespace:
        place["namespace"] = mark.namespace
    if mark.resource_name:
        place["resourceName"] = mark.resource_name
    return {
        "key": mark.key,
        "name": mark.name,
        "group": mark.group,
        **looks,
        "url": mark.url,
        **text,
        "location": mark.location,
        **place,
        "hasOwnerReferences": mark.has_owner_references,
        "source": mark.source,
        **cluster_fields(mark),
    }


def item_key(item: Item) -> ItemKeyJSON:
    return {
        "key": item.key,
        "name": item.name,
        "group": item.group,
        "namespace": item.namespace,
        "resourceName": item.resource_name,
        **cluster_fields(item),
    }


Shape = TypeVar("Shape", ApplicationJSON, BookmarkJSON)


def fold_groups(items: Iterable[Shape]) -> list[tuple[str, list[Shape]]]:
    """Sorted items -> `[(group name, members)]`, groups compared case-insensitively.

    A group keeps the spelling of its first member, so `Media` and `media` share one heading.
    """
    groups: list[tuple[str, list[Shape]]] = []
    index: dict[str, list[Shape]] = {}
    for item in items:
        folded = item["group"].casefold()
        if folded not in index:
            index[folded] = []
            groups.append((item["group"], index[folded]))
        index[folded].append(item)
    return groups


def application_groups(apps: Iterable[ApplicationJSON], revision: int) -> ApplicationGroupsJSON:
    groups = fold_groups(apps)
    return {
        "groups": [{"name": name, "applications": members} for name, members in groups],
        "revision": revision,
    }


def bookmark_groups(marks: Iterable[BookmarkJSON], revision: int) -> BookmarkGroupsJSON:
    groups = fold_groups(marks)
    return {
        "groups": [{"name": name, "bookmarks": members} for name, members in groups],
        "revision": revision,
    }


def tag_set(raw: str | Sequence[str] | None) -> frozenset[str]:
    parts = raw.split(",") if isinstance(raw, str) else (raw or ())
    return frozenset(p.strip().casefold() for p in parts if p.strip())


def matches_tags(app: Application, wanted: frozenset[str]) -> bool:
    """The original's rule: any tag in common, and untagged apps always match."""
    if not app.tags:
        return True
    return not wanted.isdisjoint(t.casefold() for t in app.tags)
