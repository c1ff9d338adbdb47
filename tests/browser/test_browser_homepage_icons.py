"""Homepage's icon forms look the same on a freshly loaded page and on one that received the
cards live; a dashboard-icons image comes from Startpunkt itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from startpunkt.config import Settings
from tests.browser.conftest import MakeLiveSite
from tests.browser.livesite import APPS, app_object
from tests.browser.test_browser_live import assert_same_as_server, card, open_live

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082"
)
HOMEPAGE_APPS = [
    app_object("GitHub", "Code", "https://github.example", icon="si-github"),
    app_object("Flask", "Code", "https://flask.example", icon="mdi-flask-outline-#f0d453"),
    app_object("Grafana", "Monitoring", "https://grafana.example", icon="grafana.png"),
    app_object("Nope", "Monitoring", "https://nope.example", icon="si-no-such-icon"),
]


class _Icons(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path == "/dash/png/grafana.png"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(PNG) if found else 0))
        self.end_headers()
        if found:
            self.wfile.write(PNG)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def icon_source() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Icons)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dash"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("fetching", [False, True])
def test_homepage_icons_render_the_same_from_the_server_and_the_script(
    page: Page, make_live_site: MakeLiveSite, icon_source: str, fetching: bool
) -> None:
    settings = Settings.model_validate(
        {"web": {"icons": {"dashboardIconsUrl": icon_source if fetching else ""}}}
    )
    site = make_live_site(settings, apps=[], bookmarks=[])
    open_live(page, site)
    site.call(site.store.replace, APPS, HOMEPAGE_APPS)  # every card arrives live
    expect(page.locator("li.card")).to_have_count(len(HOMEPAGE_APPS))
    assert assert_same_as_server(page) == len(HOMEPAGE_APPS)
    github = card(page, "GitHub").locator("svg.icon-set use")
    expect(github).to_have_attribute("href", "/icons/si/github.svg#i")
    expect(card(page, "Flask").locator("svg.icon-set")).to_have_attribute("fill", "#f0d453")
    expect(card(page, "Nope").locator("svg.icon-letter")).to_have_count(1)
    grafana = card(page, "Grafana")
    if fetching:
        image = grafana.locator("img.icon-img")
        expect(image).to_have_attribute("src", "/icons/dashboard/grafana.png")
        page.wait_for_function(
            "() => Array.from(document.images).some(i => i.complete && i.naturalWidth === 1)"
        )
    else:
        expect(grafana.locator("svg.icon-letter")).to_have_count(1)

    # the same icons arriving over the live stream
    site.call(
        site.store.apply,
        APPS,
        "ADDED",
        app_object("Later", "Code", "https://later.example", icon="si-github-#ff0000"),
    )
    later = card(page, "Later").locator("svg.icon-set")
    expect(later).to_have_attribute("fill", "#ff0000")
    assert assert_same_as_server(page) == len(HOMEPAGE_APPS) + 1


def test_an_image_icon_that_does_not_load_shows_the_servers_letter(
    page: Page, make_live_site: MakeLiveSite
) -> None:
    site = make_live_site(apps=[], bookmarks=[])
    broken = app_object("Broken", "Code", "https://broken.example", icon=site.url + "/no.png")
    site.call(site.store.replace, APPS, [broken])
    open_live(page, site)
    letter = card(page, "Broken").locator("svg.icon-letter.icon-fallback")
    expect(letter).to_be_visible()
    expect(card(page, "Broken").locator("img")).to_have_count(0)
    # the same for a card that arrives live
    later = app_object("Later", "Code", "https://later.example", icon=site.url + "/none.png")
    site.call(site.store.apply, APPS, "ADDED", later)
    expect(card(page, "Later").locator("svg.icon-letter.icon-fallback")).to_be_visible()
    expect(card(page, "Later").locator("svg.icon-letter text")).to_have_text("L")
    expect(card(page, "Later").locator("img")).to_have_count(0)
