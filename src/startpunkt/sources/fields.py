"""Reading fields out of raw Kubernetes JSON without trusting its shape.

Objects arrive as the API server (or a manifest file) wrote them. The API server validates CRD
schemas, a manifest file does not, and either can carry a value of the wrong type. Lenient readers
(`as_map`, `as_str`, `dicts`) treat a wrong type as absent; strict readers (`text`, `whole`,
`flag`) raise `Rejected` naming the field, because a user wrote that field and should be told.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from startpunkt.model import DEFAULT_LOCATION, ObjectRef, Outcome, Reference, ResourceKind
from startpunkt.sources.base import MappingContext

NAME_LIMIT = 200
INFO_LIMIT = 1000
URL_LIMIT = 2048
LOCATION_LIMIT = 1_000_000_000  # anything larger is a typo, and JavaScript numbers stay exact
_REF_NAME_LIMIT = 253  # the longest Kubernetes object name
_WHOLE = re.compile(r"\s*[+-]?\d{1,12}\s*")


class Rejected(Exception):
    """Raised inside a mapper: this object is malformed and `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Trace:
    """What a mapping looked at and remarked on; attached to whatever Outcome it ends with."""

    notes: list[str] = field(default_factory=list)
    depends_on: list[Reference] = field(default_factory=list)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def depend(self, reference: Reference) -> None:
        if reference not in self.depends_on:
            self.depends_on.append(reference)

    def finish(self, outcome: Outcome) -> Outcome:
        return replace(outcome, notes=tuple(self.notes), depends_on=tuple(sorted(self.depends_on)))


def show(value: object, limit: int = 60) -> str:
    """A value quoted for a reason or note, cut short so garbage cannot flood diagnostics."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_str(value: object) -> str | None:
    """A non-blank string, stripped; anything else is absent."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def dicts(value: object) -> Iterator[Mapping[str, Any]]:
    """The object entries of a list, skipping anything else."""
    for item in as_list(value):
        if isinstance(item, Mapping):
            yield item


def section(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object such as `spec`: absent is empty, any other type is rejected."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Rejected(f"{key} must be an object, not {json_type(value)}")
    return value


def text(value: object, where: str, limit: int | None = NAME_LIMIT) -> str | None:
    """A display string: numbers are accepted as text, lists and objects are rejected."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected(f"{where} must be a string, not {json_type(value)}")
    result = str(value).strip()
    if limit is not None and len(result) > limit:
        raise Rejected(f"{where} is {len(result)} characters long; the limit is {limit}")
    return result or None


def whole(value: object, where: str, trace: Trace) -> int:
    """A sort location: a whole number; 0 or absent means the default (1000). A malformed or
    out-of-range one keeps the item, at the default position, with a note: a typo in a sort
    order is no reason to hide an app (Homepage treats a bad `weight` the same way)."""
    if value is None:
        return DEFAULT_LOCATION
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _WHOLE.fullmatch(value)
    ):
        number = int(value)
    elif isinstance(value, str) and not value.strip():
        return DEFAULT_LOCATION
    if number is None:
        trace.note(f"{where}: {show(value)} is not a whole number; sorted at the default place")
        return DEFAULT_LOCATION
    if abs(number) > LOCATION_LIMIT:
        trace.note(
            f"{where}: {number} is out of range (at most {LOCATION_LIMIT}); "
            "sorted at the default place"
        )
        return DEFAULT_LOCATION
    return number or DEFAULT_LOCATION


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_bool(value: object) -> bool | None:
    """true/false (also yes/no, on/off, 1/0, any case); None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def flag(value: object, where: str, trace: Trace) -> bool | None:
    """A boolean setting; an unreadable one is ignored with a note rather than rejected."""
    if value is None:
        return None
    result = parse_bool(value)
    if result is None:
        trace.note(f"{where}: {show(value)} is not true or false; ignored")
    return result


def object_ref(obj: object, kind: ResourceKind) -> ObjectRef:
    """The object's identity for diagnostics; never fails, whatever `obj` is."""
    metadata = as_map(obj.get("metadata")) if isinstance(obj, Mapping) else {}
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    return ObjectRef(
        kind.label,
        namespace[:_REF_NAME_LIMIT] if isinstance(namespace, str) else "",
        name[:_REF_NAME_LIMIT] if isinstance(name, str) else "",
    )


def has_owner_references(metadata: Mapping[str, Any]) -> bool:
    """Managed by something else (an owner, or Argo CD), so the UI must not offer editing."""
    if as_list(metadata.get("ownerReferences")):
        return True
    return any(
        "argocd" in manager.lower()
        for entry in dicts(metadata.get("managedFields"))
        if isinstance(manager := entry.get("manager"), str)
    )


def lookup(ctx: MappingContext, reference: Reference, trace: Trace) -> Mapping[str, Any] | None:
    """Reads a referenced object, recording the dependency; a failing lookup is a note."""
    trace.depend(reference)
    try:
        found = ctx.lookup(reference)
    except Exception as e:  # the runtime's lookup failing must not fail this object
        trace.note(f"reading {reference} failed: {type(e).__name__}")
        return None
    return found if isinstance(found, Mapping) else None
