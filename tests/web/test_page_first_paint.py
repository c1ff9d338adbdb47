"""`GET /` is rendered once per snapshot (per language and settings cookie) and compressed once;
a change, another language or a cookie-setting request never gets someone else's page."""

from __future__ import annotations

import asyncio

import httpx

from tests.web.conftest import Site


async def page(site: Site, **headers: str) -> httpx.Response:
    response = await site.get("/", headers=headers)
    assert response.status_code == 200
    return response


async def compressed_page(site: Site, accept: str) -> httpx.Response:
    async with asyncio.timeout(5):
        while True:
            response = await page(site, **{"Accept-Encoding": accept})
            if "content-encoding" in response.headers:
                return response
            await asyncio.sleep(0.02)  # polling: the worker thread has no event to wait on


async def test_the_page_again_is_the_same_until_the_store_changes(site: Site) -> None:
    site.put("Grafana")
    first = await page(site)
    again = await page(site)

    site.put("Loki")
    changed = await page(site)

    assert again.text == first.text
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert again.headers["x-content-type-options"] == "nosniff"
    assert "Loki" not in again.text
    assert "Loki" in changed.text


async def test_each_language_and_cookie_has_its_own_page(site: Site) -> None:
    site.put("Grafana")
    english = await page(site, **{"Accept-Language": "en-US"})
    swedish = await page(site, **{"Accept-Language": "sv-SE"})
    english_again = await page(site, **{"Accept-Language": "en-US"})
    by_cookie = await page(site, **{"Cookie": "lang=sv-SE"})

    assert '<html lang="en-US"' in english.text
    assert '<html lang="sv-SE"' in swedish.text
    assert english_again.text == english.text
    assert '<html lang="sv-SE"' in by_cookie.text


async def test_a_request_that_sets_the_language_cookie_is_rendered_every_time(site: Site) -> None:
    for _ in range(2):
        response = await site.get("/?lang=sv-SE")
        assert "set-cookie" in response.headers


async def test_a_client_that_accepts_brotli_gets_the_page_compressed(site: Site) -> None:
    for i in range(200):
        site.put(f"App{i}", info="A description that repeats, as descriptions on a page do")
    plain = await page(site, **{"Accept-Encoding": "identity"})

    brotli = await compressed_page(site, "br, gzip")

    assert brotli.headers["content-encoding"] == "br"
    assert brotli.text == plain.text
    assert int(brotli.headers["content-length"]) < len(plain.content) / 5
    assert brotli.headers["vary"] == "Accept-Language, Cookie, Accept-Encoding"
