"""Shown text carries no bidi controls, no control characters and at most a few combining marks
per character, from every source; real writing in other scripts is left as it is."""

from __future__ import annotations

from typing import Any

import pytest

from startpunkt.config import Settings
from startpunkt.model import MAX_COMBINING_MARKS, Item, display_text
from startpunkt.sources import MappingContext, map_object, source_named

CTX = MappingContext(Settings())
SPOOF = "Bank \u202eelgoog.www\u202c login"
ZALGO = "Z" + "\u0301\u0302\u0303\u0304\u0306" * 30 + "algo"
# decomposed Vietnamese, pointed Hebrew, Thai, an emoji sequence (joiners kept), plain ASCII
REAL_WRITING = (
    "Vie\u0323\u0302t",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
    "\u0e01\u0e34\u0e48\u0e07",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "Plain ASCII",
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (SPOOF, "Bank elgoog.www login"),
        ("\u2067\u05e9\u05dc\u05d5\u05dd\u2069 world", "\u05e9\u05dc\u05d5\u05dd world"),
        ("left\u200eright\u200f\u061c", "leftright"),
        ("tab\there\x00and\x85there", "tab here and there"),
        (ZALGO, "Z\u0301\u0302\u0303algo"),
        (
            "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
            "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
        ),
        (
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
        ),
    ],
)
def test_display_text(raw: str, shown: str) -> None:
    assert display_text(raw) == shown
    assert display_text(shown) == shown  # cleaning twice changes nothing


def _crd(kind: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "apps"},
        "spec": {"url": "https://x.example", **spec},
    }


def _ingress(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "x", "namespace": "apps", "annotations": annotations},
        "spec": {"rules": [{"host": "x.example"}]},
    }


def only_item(source: str, obj: dict[str, Any]) -> Item:
    outcome = map_object(source_named(source), obj, CTX)
    [item] = outcome.items
    return item


def test_every_shown_field_is_cleaned_whichever_source_built_it() -> None:
    fields = {"name": SPOOF, "group": ZALGO, "info": SPOOF}
    app = only_item("startpunkt-application", _crd("Application", tags=SPOOF, **fields))
    bookmark = only_item("startpunkt-bookmark", _crd("Bookmark", **fields))
    prefix = "hajimari.io/"
    annotated = only_item(
        "ingress",
        _ingress(
            {
                prefix + "enable": "true",
                prefix + "appName": SPOOF,
                prefix + "group": ZALGO,
                prefix + "info": SPOOF,
            }
        ),
    )
    for item in (app, bookmark, annotated):
        assert item.name == "Bank elgoog.www login", item.source
        assert item.group == "Z\u0301\u0302\u0303algo", item.source
        assert item.info == "Bank elgoog.www login", item.source
    assert app.tags == ("Bank elgoog.www login",)  # type: ignore[union-attr]


def test_the_cap_is_per_character() -> None:
    marks = "\u0301\u0302\u0303\u0304"
    assert MAX_COMBINING_MARKS == 3
    assert display_text(f"a{marks}b{marks}") == f"a{marks[:3]}b{marks[:3]}"


def test_a_name_of_nothing_but_controls_falls_back_like_a_missing_one() -> None:
    app = only_item(
        "startpunkt-application", _crd("Application", name="\u202e\u202c", group="\u200f")
    )
    assert (app.name, app.group) == ("x", "apps")


def test_marks_beyond_the_basic_plane_are_capped_too() -> None:
    # U+1D167-1D169: musical combining marks, outside the Basic Multilingual Plane
    assert (
        display_text("x" + "\U0001d167\U0001d168\U0001d169" * 5)
        == "x\U0001d167\U0001d168\U0001d169"
    )
    assert display_text("\u202e") == ""
