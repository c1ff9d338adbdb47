"""In Chromium: the same page URL shows each person the cards meant for them, as an
authenticating proxy in front of Startpunkt identifies them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.identityproxy import COOKIE, IdentityProxy
from tests.browser.livesite import LiveServer, make_context, serve
from tests.web.accessdata import APP_SOURCE, IDENTITIES, SEES, application, fill, settings

PEOPLE = {"alice": IDENTITIES["A"], "bob": IDENTITIES["B"]}


@pytest.fixture
def site() -> Iterator[LiveServer]:
    config = settings()
    ctx = make_context(config)
    with serve(ctx) as live:
        live.call(fill, ctx.store, config)
        yield live


@pytest.fixture
def proxy(site: LiveServer) -> Iterator[IdentityProxy]:
    port = int(site.url.rsplit(":", 1)[1])
    with IdentityProxy(port, PEOPLE).running() as running:
        yield running


def signed_in(
    make_page: Callable[..., tuple[Page, PageLog]], proxy: IdentityProxy, who: str
) -> Page:
    page, _ = make_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.context.add_cookies([{"name": COOKIE, "value": who, "url": proxy.url}])
    return page


def cards(page: Page) -> list[str]:
    return sorted(page.locator("li.card .card-name").all_inner_texts())


def test_the_same_url_shows_each_person_their_own_cards(
    make_page: Callable[..., tuple[Page, PageLog]], proxy: IdentityProxy
) -> None:
    alice = signed_in(make_page, proxy, "alice")
    bob = signed_in(make_page, proxy, "bob")
    stranger, _ = make_page()
    for page in (alice, bob, stranger):
        page.goto(proxy.url + "/")
        expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    assert cards(alice) == sorted(SEES["A"])
    assert cards(bob) == sorted(SEES["B"])
    assert cards(stranger) == sorted(SEES["anonymous"])
    # the search knows only what alice may see
    alice.keyboard.press("/")
    alice.keyboard.type("only")
    options = alice.locator("#search-results [role=option]")
    expect(options.first).to_contain_text("Familyonly")
    assert not any("Workonly" in text for text in options.all_inner_texts())


def test_live_changes_reach_only_those_meant_to_see_them(
    make_page: Callable[..., tuple[Page, PageLog]], proxy: IdentityProxy, site: LiveServer
) -> None:
    alice = signed_in(make_page, proxy, "alice")
    bob = signed_in(make_page, proxy, "bob")
    for page in (alice, bob):
        page.goto(proxy.url + "/")
        expect(page.locator("#live")).to_have_attribute("data-state", "connected")
        page.evaluate("window.__sameDocument = true")

    def apply(name: str, groups: list[str]) -> None:
        obj = application(name, groups)
        event = (
            "MODIFIED" if site.store.get_object(APP_SOURCE, "default", name.lower()) else "ADDED"
        )
        site.store.apply(APP_SOURCE, event, obj)

    site.call(apply, "Newfamily", ["family"])
    site.call(apply, "Familyonly", ["work"])  # moves from alice to bob
    site.call(apply, "Zzpublic", [])  # everyone's: once it is there, the rest has arrived
    for page in (alice, bob):
        expect(page.locator("li.card .card-name", has_text="Zzpublic")).to_have_count(1)
    assert cards(alice) == sorted((SEES["A"] - {"Familyonly"}) | {"Newfamily", "Zzpublic"})
    assert cards(bob) == sorted(SEES["B"] | {"Familyonly", "Zzpublic"})
    for page in (alice, bob):
        assert page.evaluate("window.__sameDocument") is True  # live, not reloaded
