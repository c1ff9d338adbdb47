"""Hostile names and descriptions stay text, whether rendered by the server or live."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.livesite import APPS, BOOKMARKS, LiveServer, app_object, bookmark_object

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    "<script>window.__pwned=2;alert(2)</script>",
    '"><svg onload="window.__pwned=3;alert(3)">',
    '<iframe srcdoc="<script>parent.__pwned=4</script>"></iframe>',
    "{{7*7}} ${7*7} <b>bold</b>",
]


def hostile_apps(prefix: str) -> list[dict[str, object]]:
    return [
        app_object(
            payload,
            f"{prefix}{payload}",
            "https://ok.example.com/" + str(i),
            resource=f"{prefix}evil-{i}",
            info=payload,
            tags=f"t{i},{payload.replace(',', ' ')}",
            icon=payload,
            iconColor=payload,
        )
        for i, payload in enumerate(PAYLOADS)
    ] + [
        app_object("Script link", "Evil", "javascript:window.__pwned=5", resource=f"{prefix}js"),
        app_object(
            "Data link", "Evil", "data:text/html,<script>alert(6)</script>", resource=f"{prefix}d"
        ),
    ]


INERT = """() => ({
  pwned: window.__pwned === undefined ? null : window.__pwned,
  scripts: Array.from(document.scripts, s => s.src || s.type),
  frames: document.querySelectorAll('iframe').length,
  handlers: Array.from(document.querySelectorAll('*')).flatMap(
    e => Array.from(e.attributes).filter(a => a.name.startsWith('on')).map(a => a.name)),
  jsLinks: Array.from(document.querySelectorAll('a[href]')).filter(
    a => !/^https?:/.test(a.href)).map(a => a.href),
})"""


def assert_inert(page: Page, log: PageLog) -> None:
    state = page.evaluate(INERT)
    assert state["pwned"] is None
    assert state["frames"] == 0
    assert state["handlers"] == []
    assert state["jsLinks"] == []
    assert len(state["scripts"]) == 4  # prefs.js, two JSON blobs, app.js
    assert log.dialogs == []


def test_payloads_rendered_by_the_server_are_inert(
    page_and_log: tuple[Page, PageLog], make_live_site
) -> None:  # type: ignore[no-untyped-def]
    page, log = page_and_log
    site = make_live_site(
        apps=hostile_apps("s"),
        bookmarks=[bookmark_object(PAYLOADS[0], PAYLOADS[1], "javascript:alert(7)", resource="b")],
    )
    page.goto(site.url + "/")
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    expect(page.locator(".card-name", has_text="<script>")).to_have_count(2)
    assert_inert(page, log)
    # search shows them as text too
    page.keyboard.type("img")
    expect(page.locator("#search-results [role=option]").first).to_contain_text("<img src=x")
    assert_inert(page, log)


def test_payloads_arriving_live_are_inert(
    page_and_log: tuple[Page, PageLog], live_site: LiveServer
) -> None:
    page, log = page_and_log
    page.goto(live_site.url + "/")
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    for obj in hostile_apps("l"):
        live_site.call(live_site.feed.apply, APPS, "ADDED", obj)
    live_site.call(
        live_site.feed.apply,
        BOOKMARKS,
        "ADDED",
        bookmark_object(PAYLOADS[2], PAYLOADS[3], "javascript:alert(8)", resource="lb"),
    )
    expect(page.locator(".card-name", has_text="Data link")).to_have_count(1)
    expect(page.locator(".card-name", has_text="<script>")).to_have_count(2)
    expect(page.locator(".card-url", has_text="javascript:alert(8)")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    assert_inert(page, log)
