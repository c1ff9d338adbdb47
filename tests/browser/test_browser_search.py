"""Search from the keyboard: `/` or any letter opens it, arrows move, Enter opens, Esc closes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.livesite import LiveServer


def open_page(page: Page, site: LiveServer) -> None:
    page.goto(site.url + "/")
    expect(page.locator('[data-action="search"]')).to_be_visible()


def test_typing_two_letters_and_enter_opens_the_app(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    log.stubs["https://grafana.example.com"] = "<title>Grafana itself</title>"
    open_page(page, live_site)
    page.keyboard.type("gr")
    dialog = page.locator("dialog#search")
    expect(dialog).to_be_visible()
    expect(page.locator("#search-input")).to_have_value("gr")
    expect(page.locator("#search-results [role=option]").first).to_contain_text("Grafana")
    page.keyboard.press("Enter")
    expect(page).to_have_title("Grafana itself")
    expect(page).to_have_url("https://grafana.example.com/")


def test_an_app_that_opens_in_a_new_tab_does_so(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    log.stubs["https://jellyfin.example.com"] = "<title>Jellyfin itself</title>"
    open_page(page, live_site)
    page.keyboard.type("jelly")
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    expect(opened.value).to_have_url("https://jellyfin.example.com/")
    assert page.url == live_site.url + "/"


def test_the_combobox_and_listbox_follow_the_arrows(page: Page, live_site: LiveServer) -> None:
    open_page(page, live_site)
    page.keyboard.press("/")
    search = page.locator("#search-input")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    search.type("media")
    options = page.locator("#search-results [role=option]")
    expect(options).to_have_count(3)  # Jellyfin, Radarr, Sonarr by their tag and group
    expect(search).to_have_attribute("aria-expanded", "true")
    expect(search).to_have_attribute("aria-activedescendant", "search-opt-0")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "search-opt-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(search).to_have_attribute("aria-activedescendant", "search-opt-2")  # wraps
    page.keyboard.press("Escape")
    expect(page.locator("dialog#search")).to_be_hidden()
    expect(page.locator('[data-action="search"]')).not_to_be_focused()


def test_search_tolerates_typos_and_reads_every_field(page: Page, live_site: LiveServer) -> None:
    open_page(page, live_site)
    cases = {
        "grafnaa": "Grafana",  # a transposition
        "promethues": "Prometheus",  # a transposition
        "jelyfin": "Jellyfin",  # a missing letter
        "swiss army": "CyberChef",  # words of the description
        "git.example": "Gitea",  # the URL
        "tag:media": "Jellyfin",  # an operator
        "hass": "Home Assistant",  # a subsequence of the name
    }
    for query, first in cases.items():
        found = page.evaluate("q => window.Startpunkt.search(q)", query)
        assert found, query
        assert found[0] == first, (query, found)
    assert page.evaluate("q => window.Startpunkt.search(q)", "zzzzqqq") == []


def test_a_question_mark_searches_the_web(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    log.stubs["https://duckduckgo.com/"] = "<title>web results</title>"
    open_page(page, live_site)
    page.keyboard.type("?kubernetes watch")
    option = page.locator("#search-results [role=option]")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("kubernetes watch")
    page.keyboard.press("Enter")
    expect(page).to_have_url("https://duckduckgo.com/?q=kubernetes%20watch")


def test_typing_in_a_field_does_not_open_search(page: Page, live_site: LiveServer) -> None:
    open_page(page, live_site)
    page.locator('[data-action="settings"]').click()
    page.locator("#setting-columns").focus()
    page.keyboard.press("3")
    expect(page.locator("dialog#search")).to_be_hidden()


def test_clicking_a_result_opens_it(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    log.stubs["https://cyberchef.example.com"] = "<title>chef</title>"
    open_page(page, live_site)
    page.locator('[data-action="search"]').click()
    page.keyboard.type("chef")
    page.locator("#search-results [role=option]", has_text="CyberChef").click()
    expect(page).to_have_url("https://cyberchef.example.com/")
