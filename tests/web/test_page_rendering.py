"""The start page is complete HTML from the server: groups, cards, badges, bookmarks, footer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from startpunkt.model import State
from startpunkt.web.context import WebContext
from tests.browser.htmltree import Node, parse
from tests.browser.livesite import (
    EXAMPLE_APPS,
    EXAMPLE_BOOKMARKS,
    app_object,
    in_process,
    load,
    make_context,
)


@pytest.fixture
def ctx() -> WebContext:
    ctx = make_context()
    load(ctx)
    return ctx


@pytest.fixture
async def client(ctx: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(ctx) as client:
        yield client


def card_named(doc: Node, name: str) -> Node:
    for card in doc.find_all("li", cls="card"):
        if card.find("span", cls="card-name").text() == name:
            return card
    raise AssertionError(f"no card named {name!r}")


async def test_every_example_app_and_bookmark_is_a_card_in_its_group(
    client: httpx.AsyncClient,
) -> None:
    doc = parse((await client.get("/")).text)
    apps = doc.find("div", cls="groups", data_kind="app")
    for obj in EXAMPLE_APPS:
        card = card_named(apps, obj["spec"]["name"])
        group = card.ancestor("details")
        assert group is not None
        assert group.find("h3").text() == obj["spec"]["group"]
        assert card.find("a", cls="card-link").attrs["href"] == obj["spec"]["url"]
    marks = doc.find("div", cls="groups", data_kind="bookmark")
    assert {n.text() for n in marks.find_all("span", cls="card-name")} == {
        b["spec"]["name"] for b in EXAMPLE_BOOKMARKS
    }


async def test_groups_are_alphabetical_and_cards_follow_location_then_name(
    client: httpx.AsyncClient,
) -> None:
    doc = parse((await client.get("/")).text)
    apps = doc.find("div", cls="groups", data_kind="app")
    titles = [h.text() for h in apps.find_all("h3", cls="group-title")]
    assert titles == sorted(titles, key=str.casefold)
    platform = next(g for g in apps.find_all("details") if g.find("h3").text() == "Platform")
    names = [n.text() for n in platform.find_all("span", cls="card-name")]
    # Argo CD has location 1, the rest the default
    assert names == ["Argo CD", "Gitea", "Harbor", "Kubernetes Dashboard", "Longhorn"]
    assert platform.find("span", cls="group-count").text() == "5"


async def test_each_availability_state_has_its_own_badge_and_a_down_app_keeps_its_link(
    client: httpx.AsyncClient,
) -> None:
    doc = parse((await client.get("/")).text)
    expected = {
        "Grafana": ("up", "Up"),
        "Prometheus": ("down", "Down"),
        "Radarr": ("degraded", "Degraded"),
        "Paperless": ("scaled-to-zero", "Scaled to zero"),
        "IT Tools": ("unknown", "Not checked yet"),
    }
    for name, (state, text) in expected.items():
        card = card_named(doc, name)
        assert card.attrs["data-status"] == state
        badge = card.find("span", cls="badge")
        assert f"badge-{state}" in badge.classes
        assert badge.find("span", cls="badge-text").text() == text
    prometheus = card_named(doc, "Prometheus")
    assert prometheus.find("a", cls="card-link").attrs["href"] == "https://prometheus.example.com"
    assert "HTTP 503" in (prometheus.find("span", cls="badge").attrs["title"] or "")


async def test_icons_are_local_and_unknown_ones_become_a_letter(ctx: WebContext) -> None:
    apps = [
        app_object("Chef", "G", "https://a.example", icon="mdi:chef-hat", iconColor="#ff0000"),
        app_object("Bare", "G", "https://b.example", icon="chef-hat"),
        app_object("Brand", "G", "https://c.example", icon="simple-icons:Grafana"),
        app_object("Pic", "G", "https://d.example", icon="https://img.example/x.png"),
        app_object("Nope", "G", "https://e.example", icon="mdi:no-such-icon-anywhere"),
        app_object("Iconify", "G", "https://f.example", icon="logos:kubernetes"),
    ]
    fresh = make_context()
    load(fresh, apps, (), {})
    async with in_process(fresh) as client:
        doc = parse((await client.get("/")).text)
    use = card_named(doc, "Chef").find("svg", cls="icon-set")
    assert use.attrs["fill"] == "#ff0000"
    assert use.find("use").attrs["href"] == "/icons/mdi/chef-hat.svg#i"
    assert card_named(doc, "Bare").find("use").attrs["href"] == "/icons/mdi/chef-hat.svg#i"
    assert card_named(doc, "Brand").find("use").attrs["href"] == "/icons/si/grafana.svg#i"
    assert card_named(doc, "Pic").find("img").attrs["src"] == "https://img.example/x.png"
    for name in ("Nope", "Iconify"):
        letter = card_named(doc, name).find("svg", cls="icon-letter")
        assert letter.find("text").text() == name[0]


async def test_footer_has_the_version_and_the_diagnostics_link(client: httpx.AsyncClient) -> None:
    doc = parse((await client.get("/")).text)
    footer = doc.find("footer")
    assert "0.1.0-test" in footer.text()
    link = footer.find("a", href="/diagnostics")
    assert link.text() == "Why is my app not shown?"


async def test_an_empty_store_explains_what_to_do() -> None:
    async with in_process(make_context()) as client:
        response = await client.get("/")
    assert response.status_code == 200
    doc = parse(response.text)
    empty = doc.find("div", cls="empty-state")
    assert "hidden" not in empty.attrs
    assert empty.find("a", href="/diagnostics")
    assert doc.find("section", id="apps").attrs.get("hidden", "absent") is None


async def test_groups_are_details_elements_so_they_collapse_without_javascript(
    client: httpx.AsyncClient,
) -> None:
    doc = parse((await client.get("/")).text)
    groups = doc.find_all("details", cls="group")
    assert groups
    for group in groups:
        assert "open" in group.attrs
        assert group.children
        assert group.find("summary", cls="group-header")
    ids = [g.attrs["id"] for g in groups]
    assert len(ids) == len(set(ids))


async def test_head_requests_are_answered(client: httpx.AsyncClient) -> None:
    response = await client.head("/")
    assert response.status_code == 200


@pytest.mark.parametrize("state", list(State))
async def test_status_text_is_translated_for_every_state(state: State) -> None:
    ctx = make_context()
    load(ctx, [app_object("One", "G", "https://one.example")], (), {"One": state})
    async with in_process(ctx) as client:
        doc = parse((await client.get("/", headers={"Accept-Language": "sv-SE"})).text)
    text = card_named(doc, "One").find("span", cls="badge-text").text()
    assert text
    assert not text.startswith("status.")
