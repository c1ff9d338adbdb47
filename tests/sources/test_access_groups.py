"""Who may see an item: `startpunkt.ullberg.us/groups` on every kind, `spec.groups` on
Startpunkt's own Applications and Bookmarks, and a malformed value never widens the audience."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from startpunkt.config import Settings
from startpunkt.model import Outcome, Verdict
from startpunkt.sources import SOURCES, MappingContext, map_object, source_named
from startpunkt.sources.audiences import ANNOTATION

DATA = Path(__file__).parent / "data"


@functools.cache
def _shown_case(source: str) -> Mapping[str, Any]:
    """A case from the mapping fixtures that shows an item of `source` with default settings and
    no lookups."""
    for path in sorted(DATA.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            if (
                case["source"] == source
                and case["expect"]["verdict"] == "shown"
                and not case.get("settings")
                and not case.get("lookup")
            ):
                return case  # type: ignore[no-any-return]
    raise AssertionError(f"no shown fixture for {source}")


def _map(source: str, obj: Mapping[str, Any]) -> Outcome:
    return map_object(source_named(source), obj, MappingContext(Settings()))


def _annotated(obj: Mapping[str, Any], value: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(obj))
    out["metadata"].setdefault("annotations", {})[ANNOTATION] = value
    return out


SOURCE_NAMES = [s.name for s in SOURCES]
CRD_SOURCES = {
    "startpunkt-application",
    "startpunkt-bookmark",
    "hajimari-application",
    "hajimari-bookmark",
}


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_the_groups_annotation_is_read_on_every_source(source: str) -> None:
    obj = _shown_case(source)["object"]
    assert all(item.groups == () for item in _map(source, obj).items)
    outcome = _map(source, _annotated(obj, " family , admins,family"))
    assert outcome.verdict is Verdict.SHOWN, outcome.reason
    assert [item.groups for item in outcome.items] == [("family", "admins")]


@pytest.mark.parametrize("source", ["startpunkt-application", "startpunkt-bookmark"])
def test_spec_groups_win_over_the_annotation(source: str) -> None:
    obj = _annotated(_shown_case(source)["object"], "everyone-else")
    obj["spec"]["groups"] = ["family", "Admins"]
    (item,) = _map(source, obj).items
    assert item.groups == ("family", "Admins")  # case kept: compared exactly


@pytest.mark.parametrize("source", ["startpunkt-application", "startpunkt-bookmark"])
def test_an_empty_groups_list_means_no_restriction(source: str) -> None:
    obj = copy.deepcopy(_shown_case(source)["object"])
    obj["spec"]["groups"] = []
    (item,) = _map(source, obj).items
    assert item.groups == ()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (" , ", "names no group"),
        (["", " "], "names no group"),
        ([1, "a"], "1 is not a group name"),
        ({"a": 1}, "must be a list of group names"),
        (["x" * 300], "longer than 256 characters"),
        ([f"g{i}" for i in range(40)], "more than 32 groups"),
    ],
)
def test_a_malformed_value_rejects_rather_than_showing_to_everyone(
    value: object, reason: str
) -> None:
    obj = copy.deepcopy(_shown_case("startpunkt-application")["object"])
    obj["spec"]["groups"] = value
    outcome = _map("startpunkt-application", obj)
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.items == ()
    assert outcome.reason is not None
    assert "spec.groups" in outcome.reason
    assert reason in outcome.reason


def test_a_malformed_annotation_rejects_an_ingress() -> None:
    obj = _annotated(_shown_case("ingress")["object"], ",,,")
    outcome = _map("ingress", obj)
    assert outcome.verdict is Verdict.REJECTED
    assert ANNOTATION in (outcome.reason or "")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(SOURCE_NAMES),
    st.text(max_size=40) | st.lists(st.text(max_size=10) | st.integers(), max_size=5),
)
def test_an_item_restricted_by_a_value_never_appears_unrestricted(source: str, value: Any) -> None:
    """Whatever the value: no item, or an item that carries groups (unless the value is empty)."""
    obj = copy.deepcopy(_shown_case(source)["object"])
    if isinstance(value, str) or source not in CRD_SOURCES:
        obj = _annotated(obj, value if isinstance(value, str) else ",".join(map(str, value)))
        written = obj["metadata"]["annotations"][ANNOTATION]
        empty = not str(written).strip()
    else:
        obj["spec"]["groups"] = value
        empty = value == []
    outcome = _map(source, obj)
    for item in outcome.items:
        assert item.groups or empty, (value, item)
