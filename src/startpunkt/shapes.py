"""Domain values -> the JSON shapes of the REST API and the event stream (the original's shapes).

Absent values are omitted, as the original did (`@JsonInclude(NON_EMPTY)`), except `available`,
which is always present: `null` says "not checked yet", never "up".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from startpunkt.model import Application, Availability, Bookmark, Item

JSON = dict[str, Any]


def iso(ts: float) -> str:
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _compact(values: JSON) -> JSON:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def application(app: Application, availability: Availability) -> JSON:
    body = _compact(
        {
            "key": app.key,
            "name": app.name,
            "group": app.group,
            "icon": app.icon,
            "iconColor": app.icon_color,
            "url": app.url,
            "info": app.info,
            "targetBlank": app.target_blank,
            "location": app.location,
            "enabled": app.enabled,
            "rootPath": app.root_path,
            "tags": ",".join(app.tags) or None,
            "namespace": app.namespace,
            "resourceName": app.resource_name,
            "hasOwnerReferences": app.has_owner_references,
            "source": app.source,
            **cluster_fields(app),
            "status": availability.state.value,
            "statusCode": availability.status_code,
            "latencyMs": availability.latency_ms,
            "lastChecked": iso(availability.last_checked) if availability.last_checked else None,
        }
    )
    body["available"] = availability.available
    return body


def bookmark(mark: Bookmark) -> JSON:
    return _compact(
        {
            "key": mark.key,
            "name": mark.name,
            "group": mark.group,
            "icon": mark.icon,
            "url": mark.url,
            "info": mark.info,
            "targetBlank": mark.target_blank,
            "location": mark.location,
            "namespace": mark.namespace,
            "resourceName": mark.resource_name,
            "hasOwnerReferences": mark.has_owner_references,
            "source": mark.source,
            **cluster_fields(mark),
        }
    )


def item_key(item: Item) -> JSON:
    """What a removal carries: enough to find the card, nothing more."""
    return {
        "key": item.key,
        "name": item.name,
        "group": item.group,
        "namespace": item.namespace,
        "resourceName": item.resource_name,
        **cluster_fields(item),
    }


def cluster_fields(item: Item) -> JSON:
    """The item's cluster, and while that cluster is out of reach, `stale` and the time of
    last contact."""
    fields: JSON = {"cluster": item.cluster} if item.cluster else {}
    if item.stale_since is not None:
        fields |= {"stale": True, "lastContact": iso(item.stale_since)}
    return fields


def grouped(items: Iterable[JSON], member: str) -> JSON:
    """Sorted items -> `{"groups": [{"name", member: [...]}]}`, groups compared case-insensitively.

    A group keeps the spelling of its first member, so `Media` and `media` share one heading.
    """
    groups: list[JSON] = []
    index: dict[str, list[JSON]] = {}
    for item in items:
        folded = str(item["group"]).casefold()
        if folded not in index:
            index[folded] = []
            groups.append({"name": item["group"], member: index[folded]})
        index[folded].append(item)
    return {"groups": groups}


def tag_set(raw: str | Sequence[str] | None) -> frozenset[str]:
    parts = raw.split(",") if isinstance(raw, str) else (raw or ())
    return frozenset(p.strip().casefold() for p in parts if p.strip())


def matches_tags(app: Application, wanted: frozenset[str]) -> bool:
    """The original's rule: any tag in common, and untagged apps always match."""
    if not app.tags:
        return True
    return not wanted.isdisjoint(t.casefold() for t in app.tags)
