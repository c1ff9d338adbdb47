"""Names cannot pretend to be something else or paint outside their card: bidi controls are
removed, combining marks capped, and cards clip what they draw. Real sources (a manifests
directory), the real server process and Chromium."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from startpunkt.model import MAX_COMBINING_MARKS
from tests.serving import Served
from tests.waiting import wait_until

# ten different accents above (one repeated is drawn once): 150 of them stack up the page
MARKS = "\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a\u030b\u030c" * 15
ZALGO = "Z" + MARKS + "algo"
BIDI = "Bank \u202eelgoog.www\u202c login"
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def manifest(name: str, resource: str, group: str = "Aardvark", **spec: str) -> str:
    body = {"name": name, "group": group, "url": f"https://{resource}.example", **spec}
    return (
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        f"metadata: {{name: {resource}, namespace: web}}\nspec: {json.dumps(body)}\n"
    )


def api_names(url: str) -> list[str]:
    body = httpx.get(url + "/api/apps", timeout=5).json()
    return [a["name"] for g in body["groups"] for a in g["applications"]]


def above_first_card(page: Page) -> bytes:
    """A picture of everything above the first card: the header, the section and group titles."""
    box = page.locator("li.card").first.bounding_box()
    assert box is not None
    return page.screenshot(
        clip={"x": 0, "y": 0, "width": 1280, "height": box["y"]}, animations="disabled"
    )


PIXEL_DIFF = """async ([a, b]) => {
  const TOLERANCE = 32;  // anti-aliasing may vary by a few levels between repaints
  const load = (src) => new Promise((done, fail) => {
    const img = new Image(); img.onload = () => done(img); img.onerror = fail; img.src = src;
  });
  const [x, y] = [await load(a), await load(b)];
  if (x.width !== y.width || x.height !== y.height)
    return `size ${x.width}x${x.height} != ${y.width}x${y.height}`;
  const pixels = (img) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.width; canvas.height = img.height;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    return context.getImageData(0, 0, img.width, img.height).data;
  };
  const [p, q] = [pixels(x), pixels(y)];
  let count = 0, worst = 0, top = Infinity, bottom = -1, left = Infinity, right = -1;
  for (let i = 0; i < p.length; i += 4) {
    const delta = Math.max(...[0, 1, 2].map((c) => Math.abs(p[i + c] - q[i + c])));
    worst = Math.max(worst, delta);
    if (delta > TOLERANCE) {
      const n = i / 4, px = n % x.width, py = Math.floor(n / x.width);
      count++; top = Math.min(top, py); bottom = Math.max(bottom, py);
      left = Math.min(left, px); right = Math.max(right, px);
    }
  }
  return count ? `${count} pixels differ in x ${left}-${right}, y ${top}-${bottom}` : "";
}"""


def pixel_diff(page: Page, a: bytes, b: bytes) -> str:
    """'' when two screenshots are the same picture, else where they differ."""
    urls = ["data:image/png;base64," + base64.b64encode(x).decode() for x in (a, b)]
    return str(page.evaluate(PIXEL_DIFF, urls))


def test_names_cannot_reorder_text_or_paint_over_the_header(page: Page, tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    app = root / "app.yaml"
    app.write_text(manifest("Zalgo", "zalgo"))
    (root / "bank.yaml").write_text(manifest(BIDI, "bank", group="Banking", info=BIDI, tags="x"))
    env = {"STARTPUNKT_AVAILABILITY_ENABLED": "false"}
    with Served(["--manifests", str(root)], tmp_path / "log", env=env) as served:
        page.goto(served.url)
        expect(page.locator("#live")).to_have_attribute("data-state", "connected")
        # the baseline has gone through a live update too, so only the name differs
        app.write_text(manifest("Zalga", "zalgo"))
        expect(page.locator("li.card .card-name").first).to_have_text("Zalga")
        clean = above_first_card(page)

        app.write_text(manifest(ZALGO, "zalgo"))
        wait_until(
            lambda: api_names(served.url)[0].startswith(ZALGO[:2]), what="the edited manifest"
        )
        expect(page.locator("li.card .card-name").first).to_have_text(re.compile("^" + ZALGO[:2]))
        after = above_first_card(page)
        difference = pixel_diff(page, clean, after)
        assert difference == "", f"the name painted outside its card: {difference}"
        capped = "Z" + MARKS[:MAX_COMBINING_MARKS] + "algo"
        assert api_names(served.url)[0] == capped
        expect(page.locator("li.card .card-name").first).to_have_text(capped)

        # the API and the page both carry the cleaned name, with no bidi control left
        assert "Bank elgoog.www login" in api_names(served.url)
        bank = page.locator("li.card", has=page.locator(".card-name", has_text="Bank"))
        expect(bank.locator(".card-name")).to_have_text("Bank elgoog.www login")
        expect(bank.locator(".card-info")).to_have_text("Bank elgoog.www login")
        page.reload()
        text = page.locator("main").inner_text()
        assert not set(text) & set(BIDI_CONTROLS)
        assert MARKS[: MAX_COMBINING_MARKS + 1] not in text
