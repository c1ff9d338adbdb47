"""Items another Startpunkt instance serves, as this one shows them.

A followed instance's `/api/apps` and `/api/bookmarks` items (and the items of its events) are
stored as objects of the source `startpunkt-remote`: `{"kind": "Application" | "Bookmark",
"metadata": {"name": <its key>}, "item": <its JSON>}`. The other instance is trusted no more
than a Kubernetes object: every field is checked and bounded as a source's would be, so a
hostile or broken instance costs its own items, never the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.model import (
    DEFAULT_LOCATION,
    Application,
    Bookmark,
    Item,
    ObjectRef,
    Outcome,
    ProbeSettings,
)
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import fields, urls

SOURCE = "startpunkt-remote"
API_VERSION = "startpunkt.remote/v1"
KEY_LIMIT = 1024
TAGS_LIMIT = 64


def remote_object(kind: str, item: Mapping[str, Any]) -> KubeObject | None:
    """One item of the other instance as a storable object; None without a usable key."""
    key = item.get("key")
    if not isinstance(key, str) or not key or len(key) > KEY_LIMIT:
        return None
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": key}, "item": item}


def _text(item: Mapping[str, Any], name: str, limit: int = fields.NAME_LIMIT) -> str | None:
    value = fields.as_str(item.get(name))
    return value[:limit] if value is not None else None


def _location(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 0), fields.LOCATION_LIMIT)
    return DEFAULT_LOCATION


def _tags(value: object) -> tuple[str, ...]:
    raw = value.split(",") if isinstance(value, str) else fields.as_list(value)
    tags = (str(t).strip()[:100] for t in raw[:TAGS_LIMIT] if isinstance(t, str))
    return tuple(dict.fromkeys(t for t in tags if t))


def map_remote(obj: KubeObject) -> Outcome:
    """Pure: the stored object -> the item it shows, or a rejection saying what was wrong."""
    meta = fields.as_map(obj.get("metadata"))
    key = str(meta.get("name") or "")
    kind = "Application" if obj.get("kind") == "Application" else "Bookmark"
    ref = ObjectRef(f"Remote {kind}", "", key)
    item = fields.as_map(obj.get("item"))
    name = _text(item, "name")
    if not name:
        return Outcome.rejected(ref, "the other instance sent an item without a name")
    url = _text(item, "url", fields.URL_LIMIT)
    try:
        url = urls.absolute(url, "url", "https") if url else None
    except fields.Rejected as e:
        return Outcome.rejected(ref, str(e))
    trace = fields.Trace()
    common: dict[str, Any] = {
        "key": key,
        "name": name,
        "group": _text(item, "group") or "",
        "source": _text(item, "source") or SOURCE,
        "namespace": _text(item, "namespace") or "",
        "resource_name": _text(item, "resourceName") or "",
        "icon": urls.icon(_text(item, "icon", urls.ICON_LIMIT), "icon", trace),
        "info": _text(item, "info", fields.INFO_LIMIT),
        "location": _location(item.get("location")),
        "has_owner_references": item.get("hasOwnerReferences") is True,
    }
    target_blank = item.get("targetBlank")
    shown: Item
    if kind == "Bookmark":
        if url is None:
            return Outcome.rejected(ref, "the other instance sent a bookmark without a URL")
        shown = Bookmark(
            url=url,
            target_blank=target_blank if isinstance(target_blank, bool) else None,
            **common,
        )
    else:
        shown = Application(
            url=url,
            icon_color=_text(item, "iconColor", 64),
            target_blank=target_blank is True,
            enabled=item.get("enabled") is not False,
            root_path=None,  # already part of the URL the other instance sent
            tags=_tags(item.get("tags")),
            # probed from here, once per URL, like every other app
            probe=ProbeSettings(),
            **common,
        )
    return trace.finish(Outcome.shown(ref, shown))
