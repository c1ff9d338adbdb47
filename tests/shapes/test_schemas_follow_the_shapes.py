"""The OpenAPI components are generated from the typed shapes: what a shape declares is what
the document promises, and every event type the stream can send is described."""

from __future__ import annotations

from typing import Annotated, NotRequired, TypedDict, get_args

import pytest

from startpunkt.shapes.api import EVENT_DATA, EventType
from startpunkt.shapes.kube import watch_event
from startpunkt.shapes.schema import Generator, doc
from startpunkt.web import openapi


class Inner(TypedDict):
    value: int


class Outer(TypedDict):
    name: Annotated[str, doc("what it is called", maxLength=10)]
    maybe: str | None
    inner: Inner
    optional: NotRequired[list[Inner]]


def test_a_shape_becomes_a_closed_object_with_its_optional_keys_left_out_of_required() -> None:
    schema = Generator({"Inner": Inner}).component(Outer)

    assert schema == {
        "type": "object",
        "required": ["name", "maybe", "inner"],
        "properties": {
            "name": {"type": "string", "description": "what it is called", "maxLength": 10},
            "maybe": {"type": ["string", "null"]},
            "inner": {"$ref": "#/components/schemas/Inner"},
            "optional": {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}},
        },
        "additionalProperties": False,
    }


def test_a_type_without_a_json_form_is_refused_rather_than_guessed() -> None:
    class Odd(TypedDict):
        when: complex

    with pytest.raises(TypeError, match="complex"):
        Generator({}).component(Odd)


def test_every_event_type_has_a_described_envelope() -> None:
    envelopes = openapi.schemas()["StreamEvent"]["oneOf"]

    described = [e["properties"]["type"]["const"] for e in envelopes]
    assert sorted(described) == sorted(get_args(EventType)) == sorted(EVENT_DATA)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"type": "ADDED", "object": {"kind": "X"}}, {"type": "ADDED", "object": {"kind": "X"}}),
        ({"type": "BOOKMARK", "object": {}}, {"type": "BOOKMARK", "object": {}}),
        ({"type": "SURPRISE", "object": {}}, None),
        ({"type": "MODIFIED", "object": "not an object"}, None),
        ({"object": {}}, None),
    ],
)
def test_watch_lines_become_typed_events_or_nothing(
    line: dict[str, object], expected: object
) -> None:
    assert watch_event(line) == expected
