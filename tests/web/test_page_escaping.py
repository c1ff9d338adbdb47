"""Names, descriptions and tags from cluster objects are text, and odd URLs never become links."""

from __future__ import annotations

import re

import pytest

from tests.browser.htmltree import parse
from tests.browser.livesite import app_object, bookmark_object, in_process, load, make_context

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


async def page_for(
    apps: list[dict[str, object]], bookmarks: tuple[dict[str, object], ...] = ()
) -> str:
    ctx = make_context()
    load(ctx, apps, bookmarks, {})
    async with in_process(ctx) as client:
        response = await client.get("/")
    assert response.status_code == 200
    return response.text


async def test_markup_in_names_descriptions_groups_and_tags_is_escaped() -> None:
    html = await page_for(
        [
            app_object(
                PAYLOAD,
                f"grp{PAYLOAD}",
                "https://x.example",
                resource="evil",
                info=f'desc"><svg onload=alert(3)>{PAYLOAD}',
                tags="ok,<b>bold</b>",
            )
        ],
        (bookmark_object(PAYLOAD, "marks", "https://y.example", resource="evil-mark"),),
    )
    # the only script elements are the page's own (two JSON blobs, prefs.js, app.js)
    scripts = re.findall(r"<script[^>]*>", html)
    assert all('src="/statics/' in s or 'type="application/json"' in s for s in scripts)
    assert "<img src=x" not in html
    assert "<svg onload" not in html
    assert "<b>bold</b>" not in html
    doc = parse(html)
    names = [n.text() for n in doc.find_all("span", cls="card-name")]
    assert names.count(PAYLOAD) == 2  # shown literally, as text
    assert doc.find("span", cls="card-info").text().startswith('desc">')
    assert "<b>bold</b>" in [t.text() for t in doc.find_all("span", cls="tag")]


async def test_attribute_values_cannot_break_out() -> None:
    html = await page_for(
        [
            app_object(
                "Quote",
                "g",
                'https://x.example/"onmouseover="alert(1)',
                icon='mdi:x" onload="alert(1)',
                iconColor='red" onload="alert(1)',
            )
        ]
    )
    doc = parse(html)
    for node in doc.walk():
        assert not any(name.startswith("on") for name in node.attrs), node
    link = doc.find("a", cls="card-link")
    assert link.attrs["href"] == 'https://x.example/"onmouseover="alert(1)'
    # an unusable colour falls back to the generated one instead of reaching the markup
    assert "alert" not in (doc.find("svg", cls="icon-letter").find("circle").attrs["fill"] or "")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/path",
        "ftp://files.example",
        "http:/missing-slash.example",
    ],
)
async def test_only_http_and_https_urls_become_links(url: str) -> None:
    html = await page_for(
        [app_object("Odd", "g", url)],
        (bookmark_object("Mark", "m", url),),
    )
    doc = parse(html)
    for card in doc.find_all("li", cls="card"):
        assert not card.find_all("a"), f"{url!r} became a link"
        assert card.find("span", cls="card-url").text() == url
        assert "card-nolink" in card.find("div", cls="card-link").classes


async def test_an_image_icon_must_be_http_or_https() -> None:
    html = await page_for(
        [app_object("Pic", "g", "https://ok.example", icon="javascript://alert(1)")]
    )
    doc = parse(html)
    assert not doc.find_all("img")
    assert doc.find("svg", cls="icon-letter")


async def test_a_missing_url_is_a_card_without_a_link() -> None:
    html = await page_for([app_object("Nowhere", "g", None)])
    card = parse(html).find("li", cls="card")
    assert not card.find_all("a")
    assert not card.find_all("span", cls="card-url")
