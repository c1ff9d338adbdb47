"""Real Chromium (Debian's, never a downloaded build) driving the real page.

Fixtures, reusable by any browser test (the end-to-end test against the kube-apiserver too):
- `browser`: one headless Chromium for the package (tests that live under tests/browser/);
- `page`: a fresh context and page per test; every request to a host other than the server is
  aborted and recorded (the page must make no third-party calls), and uncaught page errors or
  CSP violations fail the test;
- `make_live_site(...)`: the web app on a free port with a store fed directly; `live_site` is
  the example set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from startpunkt.config import Settings
from startpunkt.model import State
from tests.browser.livesite import (
    EXAMPLE_APPS,
    EXAMPLE_BOOKMARKS,
    LiveServer,
    load,
    make_context,
    serve,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


# Package scope, not session: between calls the sync API leaves its loop marked as the
# thread's running loop, which would break every asyncio test collected after this package.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class PageLog:
    """What a page did that a test may want to assert on."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    stubs: dict[str, str] = field(default_factory=dict)  # url prefix -> HTML to answer with


def _guard(context: BrowserContext, log: PageLog) -> None:
    def route(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if host in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
            return
        for prefix, html in log.stubs.items():
            if url.startswith(prefix):
                route.fulfill(status=200, content_type="text/html", body=html)
                return
        log.external.append(url)
        route.abort()

    context.route("**/*", route)


@pytest.fixture
def make_page(browser: Browser) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """`make_page(**context_options)` -> (page, log); closed after the test."""
    contexts: list[tuple[BrowserContext, PageLog]] = []

    def make(**options: Any) -> tuple[Page, PageLog]:
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        log = PageLog()
        _guard(context, log)
        page = context.new_page()
        page.on("pageerror", lambda error: log.errors.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda msg: (
                log.errors.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )

        def on_dialog(dialog: Any) -> None:
            log.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        contexts.append((context, log))
        return page, log

    yield make
    for context, _ in contexts:
        context.close()
    for _, log in contexts:
        assert not log.errors, f"the page reported errors: {log.errors}"


@pytest.fixture
def page_and_log(make_page: Callable[..., tuple[Page, PageLog]]) -> tuple[Page, PageLog]:
    return make_page(viewport={"width": 1280, "height": 900}, locale="en-US")


@pytest.fixture
def page(page_and_log: tuple[Page, PageLog]) -> Page:
    return page_and_log[0]


MakeLiveSite = Callable[..., LiveServer]


@pytest.fixture
def make_live_site() -> Iterator[MakeLiveSite]:
    """`make_live_site(settings, apps=..., bookmarks=..., states=...)` -> a running site."""
    with ExitStack() as stack:

        def make(
            settings: Settings | None = None,
            apps: Sequence[Mapping[str, Any]] = EXAMPLE_APPS,
            bookmarks: Sequence[Mapping[str, Any]] = EXAMPLE_BOOKMARKS,
            states: Mapping[str, State] | None = None,
        ) -> LiveServer:
            ctx = make_context(settings)
            live = stack.enter_context(serve(ctx))
            live.call(load, ctx, apps, bookmarks, states)
            return live

        yield make


@pytest.fixture
def live_site(make_live_site: MakeLiveSite) -> LiveServer:
    return make_live_site()
