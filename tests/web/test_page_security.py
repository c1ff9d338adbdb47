"""Pages go out with a strict CSP and the usual hardening headers, and need nothing inline."""

from __future__ import annotations

import re

import pytest

from tests.browser.livesite import in_process, load, make_context


async def fetch(path: str) -> tuple[dict[str, str], str]:
    ctx = make_context()
    load(ctx)
    async with in_process(ctx) as client:
        response = await client.get(path)
    return dict(response.headers), response.text


def directives(csp: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in csp.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize("path", ["/", "/admin", "/diagnostics", "/no,such,tags", "/statics"])
async def test_pages_forbid_inline_script_and_style(path: str) -> None:
    headers, _ = await fetch(path)
    csp = directives(headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert all("unsafe" not in v for values in csp.values() for v in values)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in {"same-origin", "no-referrer", "strict-origin"}


@pytest.mark.parametrize("path", ["/", "/diagnostics"])
async def test_the_markup_has_no_inline_script_style_or_handlers(path: str) -> None:
    _, html = await fetch(path)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/statics/' in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)


async def test_statics_are_not_sniffed() -> None:
    headers, body = await fetch("/statics/app.js")
    assert headers["x-content-type-options"] == "nosniff"
    assert "javascript" in headers["content-type"]
    assert "innerHTML" not in body
    assert "insertAdjacentHTML" not in body
    assert "eval(" not in body
    assert "new Function" not in body


async def test_icons_are_cached_for_long_and_cannot_run_script() -> None:
    headers, body = await fetch("/icons/mdi/chef-hat.svg")
    assert headers["content-type"].startswith("image/svg+xml")
    assert "max-age=31536000" in headers["cache-control"]
    assert "sandbox" in headers["content-security-policy"]
    assert '<symbol id="i"' in body
    assert "<script" not in body


async def test_the_theme_stylesheet_revalidates_with_an_etag() -> None:
    ctx = make_context()
    async with in_process(ctx) as client:
        first = await client.get("/theme.css")
        again = await client.get("/theme.css", headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200
    assert again.status_code == 304
