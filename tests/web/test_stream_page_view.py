"""The start page's own stream (`?view=page&lang=...`): the cards the server renders, once per
change and language, while the API's stream keeps its JSON envelope."""

from __future__ import annotations

import pytest

from startpunkt.events import Event
from startpunkt.web import fragments
from startpunkt.web.translations import Translator
from tests.web.conftest import Site

PAGE_SV = "?view=page&lang=sv-SE"


async def test_the_pages_stream_carries_the_card_of_the_page_in_its_language(site: Site) -> None:
    async with site.stream(PAGE_SV) as page, site.stream() as api:
        await page.next()
        await api.next()
        site.put("Tool", "Media", tags=["dev"], info="Does things", url="https://tool.example")
        seen = await page.next_change()
        public = await api.next_change()

    assert (seen.event, seen.id) == (public.event, public.id) == ("APPLICATION_ADDED", "1")
    assert set(seen.envelope) == set(public.envelope) == {"type", "timestamp", "data"}
    data = seen.payload
    assert (data["key"], data["kind"]) == (public.payload["key"], "app")
    assert data["html"].startswith('<details class="group"')
    # the very group a Swedish page renders for the same state, card and all
    rendered = (await site.get("/?lang=sv-SE")).text
    assert data["html"] in rendered
    assert "Inte kontrollerad ännu" in data["html"]  # the status badge, in Swedish
    # the API's clients see the item's JSON, as always
    assert public.payload["name"] == "Tool"
    assert "html" not in public.payload


async def test_a_removal_carries_the_key_as_on_the_api_stream(site: Site) -> None:
    site.put("Tool")
    async with site.stream(PAGE_SV) as page, site.stream() as api:
        await page.next()
        await api.next()
        site.remove("Tool")
        seen = await page.next_change()
        public = await api.next_change()

    assert seen.event == "APPLICATION_REMOVED"
    assert seen.payload == public.payload


async def test_changes_of_one_item_in_one_tick_arrive_as_its_final_card(site: Site) -> None:
    async with site.stream("?view=page&lang=en-US") as page:
        await page.next()
        site.put("Tool", info="first")
        site.put("Tool", info="second")  # the same loop iteration: coalesced
        seen = await page.next_change()

    assert seen.event == "APPLICATION_ADDED"
    assert "second" in seen.payload["html"]
    assert "first" not in seen.payload["html"]


async def test_an_app_retagged_into_a_filtered_page_arrives_as_a_card(site: Site) -> None:
    site.put("Tool", tags=["ops"])
    async with site.stream("?view=page&lang=en-US&tags=dev") as page:
        await page.next()
        site.put("Tool", tags=["dev"])
        seen = await page.next_change()

    assert seen.event == "APPLICATION_ADDED"
    assert 'data-tag="dev"' in seen.payload["html"]


async def test_each_change_is_rendered_once_per_language_however_many_pages(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[tuple[str | None, str]] = []
    render = fragments.render

    def counting(event: Event, t: Translator, dashboard: bool, local: str = "") -> Event:
        rendered.append((event.type, t.language))
        return render(event, t, dashboard, local)

    monkeypatch.setattr(fragments, "render", counting)
    queries = [PAGE_SV] * 3 + ["?view=page&lang=en-US"] * 2
    async with (
        site.stream(queries[0]) as a,
        site.stream(queries[1]) as b,
        site.stream(queries[2]) as c,
        site.stream(queries[3]) as d,
        site.stream(queries[4]) as e,
    ):
        readers = [a, b, c, d, e]
        for reader in readers:
            await reader.next()
        site.put("One")
        site.put_bookmark("Two")
        for reader in readers:
            await reader.changes_until(lambda event: event.event == "BOOKMARK_ADDED")

    assert sorted(rendered) == [
        ("APPLICATION_ADDED", "en-US"),
        ("APPLICATION_ADDED", "sv-SE"),
        ("BOOKMARK_ADDED", "en-US"),
        ("BOOKMARK_ADDED", "sv-SE"),
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?view=cards", "view: 'cards' is not a view; use view=page"),
        ("?view=page", "lang: '' is not a page language; use one of en-US, sv-SE"),
        ("?view=page&lang=xx", "lang: 'xx' is not a page language; use one of en-US, sv-SE"),
    ],
)
async def test_an_unknown_view_or_language_is_refused_with_the_fix(
    site: Site, query: str, message: str
) -> None:
    response = await site.get("/api/updates/stream" + query)
    assert response.status_code == 400
    assert message in response.text
