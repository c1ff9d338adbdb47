"""Renders the start page with the example set and saves the screenshots in docs/.

    .venv/bin/python docs/screenshots.py

Loads `examples/` through the real sources (the manifests-directory backend) when it exists, else
the built-in example set of the browser tests; gives the apps a mix of availability states; and
photographs the page in Debian's Chromium: light and dark on a wide screen, and a phone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from startpunkt.config import Settings  # noqa: E402
from startpunkt.events import Hub  # noqa: E402
from startpunkt.manifests import ManifestsDirectory  # noqa: E402
from startpunkt.model import State  # noqa: E402
from startpunkt.runtime import build_store  # noqa: E402
from startpunkt.store import probe_target  # noqa: E402
from startpunkt.web.context import WebContext  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.livesite import availability, load, make_context, serve  # noqa: E402

EXAMPLES = ROOT / "examples"
OUT = ROOT / "docs"
# a little of everything, so the badges show; the rest are up
STATES = {
    "Prometheus": State.DOWN,
    "Jellyfin": State.DEGRADED,
    "Immich": State.DEGRADED,
    "Mealie": State.SCALED_TO_ZERO,
    "Paperless-ngx": State.UNKNOWN,
}


def context() -> WebContext:
    settings = Settings()
    if not EXAMPLES.is_dir():
        return make_context(settings, version="0.1.0")
    store = build_store(settings)
    return WebContext(settings=settings, store=store, hub=Hub(store), version="0.1.0")


def fill(ctx: WebContext) -> None:
    if not EXAMPLES.is_dir():
        load(ctx.store)
        return
    ManifestsDirectory(EXAMPLES, ctx.store, settings=ctx.settings).load()
    for app in ctx.store.snapshot().applications:
        target = probe_target(app)
        state = STATES.get(app.name, State.UP)
        if target is not None and state is not State.UNKNOWN:
            ctx.store.set_availability(target, availability(state))


def main() -> None:
    ctx = context()
    shots = [
        ("screenshot-light.png", "light", {"width": 1440, "height": 1000}, 1, True),
        ("screenshot-dark.png", "dark", {"width": 1440, "height": 1000}, 1, True),
        ("screenshot-phone.png", "light", {"width": 390, "height": 844}, 2, False),
    ]
    with serve(ctx) as live, sync_playwright() as p:
        live.call(fill, ctx)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, scheme, viewport, scale, full in shots:
            page = browser.new_page(
                viewport=viewport,  # type: ignore[arg-type]
                color_scheme=scheme,  # type: ignore[arg-type]
                device_scale_factor=scale,
                is_mobile=not full,
                has_touch=not full,
            )
            page.goto(live.url + "/")
            page.wait_for_selector("#live[data-state=connected]")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / name), full_page=full)
            print(f"wrote {OUT / name}")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
