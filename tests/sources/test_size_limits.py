"""Oversized values: a name or URL too long to be real rejects the object with a reason; an
overlong description is shortened with a note; nothing oversized reaches the page."""

from __future__ import annotations

from typing import Any

from startpunkt.config import Settings
from startpunkt.model import Application, Verdict
from startpunkt.sources import MappingContext, map_object, source_named

CTX = MappingContext(Settings())


def _app(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {"name": "App", "url": "https://app.example.com", **spec},
    }


def _map(obj: dict[str, Any]) -> Any:
    return map_object(source_named("startpunkt-application"), obj, CTX)


def test_name_over_200_characters_is_rejected() -> None:
    outcome = _map(_app(name="N" * 201))
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.reason == "spec.name is 201 characters long; the limit is 200"


def test_name_of_200_characters_is_kept() -> None:
    outcome = _map(_app(name="N" * 200))
    assert outcome.verdict is Verdict.SHOWN
    assert outcome.items[0].name == "N" * 200


def test_url_over_2048_characters_is_rejected() -> None:
    outcome = _map(_app(url="https://app.example.com/" + "p" * 2048))
    assert outcome.verdict is Verdict.REJECTED
    assert "spec.url is 2072 characters long; the limit is 2048" in (outcome.reason or "")


def test_root_path_pushing_the_url_over_the_limit_is_rejected() -> None:
    outcome = _map(_app(url="https://app.example.com/" + "p" * 2000, rootPath="r" * 100))
    assert outcome.verdict is Verdict.REJECTED
    assert "the limit is 2048" in (outcome.reason or "")


def test_info_over_1000_characters_is_shortened_with_a_note() -> None:
    outcome = _map(_app(info="i" * 5000))
    assert outcome.verdict is Verdict.SHOWN
    info = outcome.items[0].info
    assert len(info) == 1000
    assert info.endswith("…")
    assert outcome.notes == ("spec.info is longer than 1000 characters; shortened",)


def test_huge_icon_is_dropped_with_a_note() -> None:
    outcome = _map(_app(icon="https://cdn.example.com/" + "i" * 3000))
    assert outcome.verdict is Verdict.SHOWN
    assert outcome.items[0].icon is None
    assert outcome.notes == ("spec.icon is longer than 2048 characters; icon dropped",)


def test_location_beyond_a_billion_sorts_at_the_default_place_with_a_note() -> None:
    outcome = _map(_app(location=10**12))
    assert outcome.verdict is Verdict.SHOWN
    assert outcome.items[0].location == 1000
    assert outcome.notes == (
        "spec.location: 1000000000000 is out of range (at most 1000000000); "
        "sorted at the default place",
    )


def test_more_than_32_tags_are_capped_with_a_note() -> None:
    outcome = _map(_app(tags=",".join(f"t{n}" for n in range(40)) + "," + "x" * 65))
    assert outcome.verdict is Verdict.SHOWN
    item = outcome.items[0]
    assert isinstance(item, Application)
    assert item.tags == tuple(f"t{n}" for n in range(32))
    assert outcome.notes == ("spec.tags: more than 32 tags; the rest are dropped",)


def test_overlong_tag_is_dropped() -> None:
    outcome = _map(_app(tags="ok," + "x" * 65))
    item = outcome.items[0]
    assert isinstance(item, Application)
    assert item.tags == ("ok",)
    assert "longer than 64 characters; dropped" in outcome.notes[0]


def test_a_bad_object_does_not_affect_the_next_one() -> None:
    bad = _map(_app(url="javascript:alert(1)", location="first"))
    good = _map(_app(location=5))
    assert bad.verdict is Verdict.REJECTED
    assert good.verdict is Verdict.SHOWN
    assert good.items[0].location == 5
