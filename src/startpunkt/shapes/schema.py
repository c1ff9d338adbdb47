"""JSON Schema (2020-12) from the typed shapes, so the OpenAPI document cannot drift from them.

A TypedDict becomes a closed object (`additionalProperties: false`): its keys in declaration
order, the required ones listed. A TypedDict named in `components` becomes a `$ref` to that
component; any other one is written inline. `Annotated[T, Doc(...)]` adds a description and
other keywords (`format`, `maxLength`) to the schema of `T`.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

Schema = dict[str, Any]

_PRIMITIVES: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True, slots=True)
class Doc:
    """What a field means, for readers of the OpenAPI document: `Annotated[int, Doc("...")]`."""

    description: str = ""
    keywords: Mapping[str, Any] = field(default_factory=dict)


def doc(description: str = "", **keywords: Any) -> Doc:
    return Doc(description, keywords)


def _bare(shape: Any) -> Any:
    return get_args(shape)[0] if get_origin(shape) is typing.Annotated else shape


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


class Generator:
    """Writes schemas; a TypedDict among `components` is written as a `$ref` to its name."""

    def __init__(self, components: Mapping[str, type]) -> None:
        self._names = {_bare(shape): name for name, shape in components.items()}

    def component(self, shape: Any) -> Schema:
        """The schema of a component itself (never a `$ref` to it)."""
        if get_origin(shape) is typing.Annotated:
            inner, *extras = get_args(shape)
            return _documented(self.component(inner), extras)
        if is_typeddict(shape):
            return self._object(shape)
        return self.of(shape)

    def of(self, annotation: Any) -> Schema:
        if get_origin(annotation) is typing.Annotated:
            inner, *extras = get_args(annotation)
            return _documented(self.of(inner), extras)
        if is_typeddict(annotation):
            name = self._names.get(annotation)
            return ref(name) if name else self._object(annotation)
        origin = get_origin(annotation)
        if origin in (typing.Required, typing.NotRequired):
            return self.of(get_args(annotation)[0])
        if origin is Literal:
            values = list(get_args(annotation))
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin in (Union, types.UnionType):
            return self._union(get_args(annotation))
        if origin is list:
            return {"type": "array", "items": self.of(get_args(annotation)[0])}
        if origin is dict:
            value = get_args(annotation)[1]
            if value is Any:
                return {"type": "object"}
            return {"type": "object", "additionalProperties": self.of(value)}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return {"enum": [member.value for member in annotation]}
        if annotation is Any:
            return {}
        if annotation in _PRIMITIVES:
            return {"type": _PRIMITIVES[annotation]}
        raise TypeError(f"no JSON Schema for {annotation!r}")

    def _union(self, members: tuple[Any, ...]) -> Schema:
        schemas = [self.of(member) for member in members]
        if all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas):
            return {"type": [s["type"] for s in schemas]}
        return {"oneOf": schemas}

    def _object(self, shape: Any) -> Schema:
        hints = get_type_hints(shape, include_extras=True)
        return {
            "type": "object",
            "required": [key for key, hint in hints.items() if _required(shape, hint)],
            "properties": {key: self.of(hint) for key, hint in hints.items()},
            "additionalProperties": False,
        }


def _required(shape: Any, hint: Any) -> bool:
    # from the hints rather than `__required_keys__`, which Python 3.11 cannot compute from
    # postponed (string) annotations
    origin = get_origin(hint)
    if origin is typing.Required:
        return True
    return bool(shape.__total__) and origin is not typing.NotRequired


def _documented(schema: Schema, extras: list[Any]) -> Schema:
    for extra in extras:
        if isinstance(extra, Doc):
            if extra.description:
                schema["description"] = extra.description
            schema.update(extra.keywords)
    return schema
