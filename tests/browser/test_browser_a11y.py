"""Accessible in both themes: axe-core finds nothing, and everything works from the keyboard."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.livesite import LiveServer

AXE = Axe()
# WCAG 2.0/2.1 A and AA, plus axe's best practices (landmarks, headings, regions)
OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def violations(page: Page) -> str:
    results = AXE.run(page, options=OPTIONS)
    lines = []
    for rule in results.response["violations"]:
        for node in rule["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"{rule['id']}: {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/media", "/diagnostics", "/?lang=sv-SE"])
def test_axe_finds_no_violations(
    make_page: Callable[..., tuple[Page, PageLog]],
    live_site: LiveServer,
    scheme: str,
    path: str,
) -> None:
    page, _ = make_page(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page.goto(live_site.url + path)
    if path != "/diagnostics":
        expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    assert violations(page) == ""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_violations_with_the_dialogs_open(
    page: Page, live_site: LiveServer, theme: str
) -> None:
    page.goto(live_site.url + "/")
    page.evaluate(
        "t => localStorage.setItem('startpunkt:preferences', JSON.stringify({theme: t}))", theme
    )
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    page.keyboard.type("ha")
    expect(page.locator("#search-results [role=option]").first).to_be_visible()
    assert violations(page) == ""
    page.keyboard.press("Escape")
    page.locator('[data-action="settings"]').click()
    expect(page.locator("dialog#settings")).to_be_visible()
    assert violations(page) == ""


def test_axe_finds_no_violations_on_a_phone(
    make_page: Callable[..., tuple[Page, PageLog]], live_site: LiveServer
) -> None:
    page, _ = make_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(live_site.url + "/")
    assert violations(page) == ""


def test_the_first_tab_reaches_the_skip_link_which_jumps_to_the_content(
    page: Page, live_site: LiveServer
) -> None:
    page.goto(live_site.url + "/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("nav.tagbar a").first).to_be_focused()


def test_focus_is_visible_on_cards(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    first = page.locator("a.card-link").first
    first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(first).to_be_focused()
    outline = first.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert outline.startswith("solid"), outline
    assert outline != "solid 0px"


def test_landmarks_and_names_are_there(page: Page, live_site: LiveServer) -> None:
    page.goto(live_site.url + "/")
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Filter by tag")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Startpunkt")
    expect(page.get_by_role("link", name="Grafana")).to_be_visible()
    expect(page.get_by_role("link", name="Prometheus")).to_contain_text("Down")
