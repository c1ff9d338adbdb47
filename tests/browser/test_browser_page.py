"""The page in real Chromium: it renders the examples, goes live, and works without JavaScript."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.livesite import EXAMPLE_APPS, EXAMPLE_BOOKMARKS, LiveServer


def test_the_page_renders_every_example_app_and_bookmark(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    cards = page.locator("li.card .card-name")
    expect(cards).to_have_count(len(EXAMPLE_APPS) + len(EXAMPLE_BOOKMARKS))
    for obj in (*EXAMPLE_APPS, *EXAMPLE_BOOKMARKS):
        expect(page.locator(".card-name", has_text=obj["spec"]["name"]).first).to_be_visible()
    # icons come from the server itself and really draw
    grafana = page.locator("li.card", has=page.locator(".card-name", has_text="Grafana"))
    box = grafana.locator("svg.icon-set").bounding_box()
    assert box is not None
    assert box["width"] > 20


def test_the_live_indicator_says_connected(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    live = page.locator("#live")
    expect(live).to_have_attribute("data-state", "connected")
    expect(live.locator("[role=status]")).to_have_text("Live")
    expect(live).to_be_visible()


def test_no_request_leaves_the_server(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    page.goto(live_site.url + "/")
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    page.wait_for_load_state("networkidle")
    assert log.external == []


def test_without_javascript_the_page_is_complete_and_links_work(
    make_page: Callable[..., tuple[Page, PageLog]], live_site: LiveServer
) -> None:
    page, log = make_page(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page.goto(live_site.url + "/")
    expect(page.locator("li.card")).to_have_count(len(EXAMPLE_APPS) + len(EXAMPLE_BOOKMARKS))
    # the JavaScript-only controls stay hidden
    expect(page.locator('[data-action="search"]')).to_be_hidden()
    expect(page.locator("#live")).to_be_hidden()
    # groups still collapse: <details> needs no script
    group = page.locator("details.group").first
    group.locator("summary").click()
    expect(group).not_to_have_attribute("open", "")
    expect(group.locator("li.card").first).to_be_hidden()
    # tag chips are plain links
    page.locator("nav.tagbar a", has_text="media").click()
    expect(page).to_have_url(live_site.url + "/media")
    expect(page.locator(".card-name", has_text="Jellyfin")).to_be_visible()
    expect(page.locator(".card-name", has_text="Grafana")).to_have_count(0)
    # and a card is an ordinary link
    log.stubs["https://sonarr.example.com"] = "<title>Sonarr</title>"
    page.locator("a.card-link", has_text="Sonarr").click()
    expect(page).to_have_url("https://sonarr.example.com/")


def test_collapsed_groups_are_remembered(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    media = page.locator("details.group", has=page.locator("h3", has_text="Media"))
    media.locator("summary").click()
    expect(media).not_to_have_attribute("open", "")
    page.reload()
    media = page.locator("details.group", has=page.locator("h3", has_text="Media"))
    expect(media).not_to_have_attribute("open", "")
    expect(
        page.locator("details.group", has=page.locator("h3", has_text="Home"))
    ).to_have_attribute("open", "")
    media.locator("summary").press("Enter")
    expect(media).to_have_attribute("open", "")
