"""Theme, columns, descriptions, tags and language: chosen in the settings panel, remembered."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from startpunkt.model import State
from tests.browser.conftest import PageLog
from tests.browser.livesite import LiveServer, availability, target_of


def background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_the_theme_follows_the_system_until_chosen_and_is_remembered(
    make_page: Callable[..., tuple[Page, PageLog]], live_site: LiveServer
) -> None:
    page, _ = make_page(color_scheme="light", viewport={"width": 1280, "height": 900})
    page.goto(live_site.url + "/")
    light = background(page)
    page.emulate_media(color_scheme="dark")
    dark = background(page)
    assert light != dark
    page.emulate_media(color_scheme="light")
    page.locator('[data-action="settings"]').click()
    page.get_by_role("radio", name="Dark").check()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == dark
    page.keyboard.press("Escape")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == dark
    page.locator('[data-action="settings"]').click()
    page.get_by_role("radio", name="Auto").check()
    expect(page.locator("html")).not_to_have_attribute("data-theme", "dark")
    assert background(page) == light


def test_columns_descriptions_and_tags(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    grid = page.locator("ul.cards").first
    page.locator('[data-action="settings"]').click()
    page.get_by_label("Columns").select_option("2")
    columns = grid.evaluate("e => getComputedStyle(e).gridTemplateColumns.split(' ').length")
    assert columns == 2
    info = page.locator(".card-info").first
    expect(info).to_be_visible()
    page.get_by_label("Descriptions").uncheck()
    expect(info).to_be_hidden()
    page.get_by_label("Tags").uncheck()
    expect(page.locator(".card-tags").first).to_be_hidden()
    page.reload()
    expect(page.locator(".card-info").first).to_be_hidden()
    columns = grid.evaluate("e => getComputedStyle(e).gridTemplateColumns.split(' ').length")
    assert columns == 2
    page.locator('[data-action="settings"]').click()
    page.get_by_role("button", name="Reset to defaults").click()
    expect(page.locator(".card-info").first).to_be_visible()
    expect(page.get_by_label("Columns")).to_have_value("auto")


def test_swedish_everywhere_including_what_the_script_writes(
    make_page: Callable[..., tuple[Page, PageLog]], live_site: LiveServer
) -> None:
    page, _ = make_page(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page.goto(live_site.url + "/")
    expect(page.locator("#apps-heading")).to_have_text("Program")
    expect(page.locator("html")).to_have_attribute("lang", "sv-SE")
    target = target_of(live_site.ctx, "IT Tools")
    live_site.call(live_site.feed.set_availability, target, availability(State.DOWN))
    tools = page.locator("li.card", has=page.locator(".card-name", has_text="IT Tools"))
    expect(tools.locator(".badge-text")).to_have_text("Nere")
    page.keyboard.type("media")
    expect(page.locator("#search-status")).to_have_text("3 resultat")
    page.keyboard.press("Escape")
    # the switcher goes back to English and the choice sticks
    page.locator("footer").get_by_role("link", name="English").click()
    expect(page.locator("#apps-heading")).to_have_text("Applications")
    page.goto(live_site.url + "/")
    expect(page.locator("#apps-heading")).to_have_text("Applications")
