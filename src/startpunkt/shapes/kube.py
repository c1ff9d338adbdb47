"""Raw Kubernetes JSON, typed where the code reads it.

Objects stay mappings: mappers read arbitrary, user-written fields, and a bad object is a value
to report, not a type error. What has a fixed vocabulary is typed: the watch event types and the
status conditions Startpunkt writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, get_args

# one object as the API server or a manifest file gives it; read-only for everyone but its owner
KubeObject = Mapping[str, Any]

ObjectEventType = Literal["ADDED", "MODIFIED", "DELETED"]
WatchEventType = ObjectEventType | Literal["BOOKMARK", "ERROR"]
_WATCH_EVENT_TYPES: dict[str, WatchEventType] = {
    name: name for literal in get_args(WatchEventType) for name in get_args(literal)
}


class WatchEvent(TypedDict):
    """One line of a watch response (`ERROR` carries a `Status` as its object)."""

    type: WatchEventType
    object: dict[str, Any]


def watch_event(raw: Mapping[str, Any]) -> WatchEvent | None:
    """A watch line as a typed event; None for one that is not (an unknown type, no object)."""
    type_ = _WATCH_EVENT_TYPES.get(str(raw.get("type", "")))
    obj = raw.get("object")
    if type_ is None or not isinstance(obj, dict):
        return None
    return {"type": type_, "object": obj}


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(TypedDict):
    """A status condition, as Kubernetes API conventions lay them out."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    lastTransitionTime: NotRequired[str]
    observedGeneration: NotRequired[int]


class ObjectStatus(TypedDict):
    """What Startpunkt writes into the `.status` of its own custom resources."""

    url: str | None
    available: NotRequired[bool | None]  # applications only
    lastChecked: NotRequired[str | None]
    conditions: list[Condition]
    observedGeneration: NotRequired[int]
