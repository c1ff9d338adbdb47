"""The page speaks en-US or sv-SE: `?lang=` (remembered in a cookie), Accept-Language, then the
configured default; both bundles are complete."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from startpunkt.config import Settings
from startpunkt.web import translations
from tests.browser.htmltree import parse
from tests.browser.livesite import in_process, load, make_context


async def get(path: str, settings: Settings | None = None, **headers: str) -> Any:
    ctx = make_context(settings)
    load(ctx)
    async with in_process(ctx) as client:
        return await client.get(path, headers=headers)


def heading(html: str) -> str:
    return parse(html).find("h2", id="apps-heading").text()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("sv-SE,sv;q=0.9,en;q=0.8", "Program"),
        ("sv", "Program"),
        ("sv-FI", "Program"),
        ("de-DE,sv;q=0.5,en;q=0.4", "Program"),
        ("en-GB,sv;q=0.5", "Applications"),
        ("fr-FR", "Applications"),
        ("sv;q=0, en;q=0.1", "Applications"),
        ("garbage;;;q=x", "Applications"),
    ],
)
async def test_accept_language_picks_the_language(accept: str, expected: str) -> None:
    response = await get("/", **{"Accept-Language": accept})
    assert heading(response.text) == expected
    assert parse(response.text).find("html").attrs["lang"] == (
        "sv-SE" if expected == "Program" else "en-US"
    )


async def test_the_configured_default_applies_when_the_browser_names_nothing_we_have() -> None:
    settings = Settings(default_language="sv-SE")
    assert heading((await get("/", settings, **{"Accept-Language": "fr"})).text) == "Program"
    assert heading((await get("/", settings)).text) == "Program"


async def test_the_switcher_sets_a_cookie_that_later_requests_honour() -> None:
    ctx = make_context()
    load(ctx)
    async with in_process(ctx) as client:
        first = await client.get("/?lang=sv-SE", headers={"Accept-Language": "en-US"})
        assert heading(first.text) == "Program"
        assert "lang=sv-SE" in first.headers["set-cookie"]
        again = await client.get("/", headers={"Accept-Language": "en-US"})
        assert heading(again.text) == "Program"
        back = await client.get("/?lang=en-US")
        assert heading(back.text) == "Applications"


async def test_the_switcher_links_keep_the_tag_path() -> None:
    doc = parse((await get("/admin")).text)
    links = doc.find("nav", cls="langs").find_all("a")
    assert [a.attrs["href"] for a in links] == ["/admin?lang=en-US", "/admin?lang=sv-SE"]


async def test_the_page_embeds_the_bundle_for_the_script() -> None:
    response = await get("/", **{"Accept-Language": "sv"})
    blob = parse(response.text).find("script", id="i18n-data")
    assert json.loads(blob.text()) == translations.bundle("sv-SE")


async def test_the_diagnostics_page_is_translated_too() -> None:
    response = await get("/diagnostics", **{"Accept-Language": "sv"})
    assert parse(response.text).find("h1").text() == "Varför visas inte mitt program?"


def leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_both_bundles_have_the_same_keys_and_the_original_top_level_ones() -> None:
    english = set(leaves(translations.bundle("en-US")))
    swedish = set(leaves(translations.bundle("sv-SE")))
    assert english == swedish
    assert {"home", "background", "layout", "accessibility", "search"} <= set(
        translations.bundle("en-US")
    )


def test_every_translated_string_is_different_or_a_name() -> None:
    """A string left in English in sv-SE is a missed translation (names excepted)."""
    same = {
        k for k in leaves(translations.bundle("en-US")) if lookup("en-US", k) == lookup("sv-SE", k)
    }
    allowed = {
        "home.theme.auto",
        "background.title",
        "layout.title",
        "layout.columnsAuto",
        "status.details",
        "status.detailsNoLatency",
        "live.connected",
        "language.en-US",
        "language.sv-SE",
        "home.version",
    }
    assert same <= allowed, same - allowed


def lookup(language: str, key: str) -> str:
    node: Any = translations.bundle(language)
    for part in key.split("."):
        node = node[part]
    return str(node)


def test_every_key_the_templates_and_script_use_exists() -> None:
    import re  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    web = Path(translations.__file__).parent
    used: set[str] = set()
    for path in [*web.glob("templates/*.html"), web / "statics" / "app.js"]:
        used |= set(
            re.findall(r"""\bt\(\s*['"]([a-zA-Z-]+(?:\.[a-zA-Z-]+)+)['"]""", path.read_text())
        )
    english = set(leaves(translations.bundle("en-US")))
    dynamic = {k for k in used if k.endswith(".")}
    assert used - dynamic <= english, sorted(used - dynamic - english)
