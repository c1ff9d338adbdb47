"""Snapshot documents are compressed once per snapshot and served in the encoding each client
accepts, with a strong ETag per representation."""

from __future__ import annotations

import asyncio

import httpx

from tests.web.conftest import Site


def fill(site: Site, count: int = 30) -> None:
    for i in range(count):
        site.put(f"App{i}", info="An application with a description long enough to compress")


async def compressed(site: Site, path: str, accept: str) -> httpx.Response:
    """The response once the compressed variant is ready (it is made in a worker thread)."""
    async with asyncio.timeout(5):
        while True:
            response = await site.get(path, headers={"Accept-Encoding": accept})
            if "content-encoding" in response.headers:
                return response
            await asyncio.sleep(0.02)  # polling: the worker thread has no event to wait on


async def test_each_client_gets_the_best_encoding_it_accepts(site: Site) -> None:
    fill(site)
    plain = await site.get("/api/apps", headers={"Accept-Encoding": "identity"})

    brotli = await compressed(site, "/api/apps", "gzip, br")
    gzip = await site.get("/api/apps", headers={"Accept-Encoding": "gzip"})
    refused = await site.get("/api/apps", headers={"Accept-Encoding": "br;q=0, identity"})

    assert "content-encoding" not in plain.headers
    assert brotli.headers["content-encoding"] == "br"
    assert gzip.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in refused.headers
    assert brotli.json() == gzip.json() == plain.json()
    assert int(brotli.headers["content-length"]) < len(plain.content) / 3
    for response in (plain, brotli, gzip, refused):
        assert response.headers["vary"] == "Accept-Encoding"
    etags = {plain.headers["etag"], brotli.headers["etag"], gzip.headers["etag"]}
    assert len(etags) == 3  # one strong ETag per representation
    assert brotli.headers["etag"] == plain.headers["etag"][:-1] + '-br"'


async def test_if_none_match_naming_any_representation_is_a_304(site: Site) -> None:
    fill(site)
    plain = await site.get("/api/apps", headers={"Accept-Encoding": "identity"})
    brotli = await compressed(site, "/api/apps", "br")

    for etag in (plain.headers["etag"], brotli.headers["etag"]):
        again = await site.get("/api/apps", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag


async def test_a_new_snapshot_is_compressed_anew(site: Site) -> None:
    fill(site)
    before = await compressed(site, "/api/apps", "br")

    site.put("Newcomer")
    after = await compressed(site, "/api/apps", "br")

    names = [a["name"] for g in after.json()["groups"] for a in g["applications"]]
    assert "Newcomer" in names
    assert after.headers["etag"] != before.headers["etag"]


async def test_bookmarks_and_tag_sets_are_compressed_too(site: Site) -> None:
    fill(site)
    for i in range(30):
        site.put_bookmark(f"Link{i}", info="A bookmark with text enough to be worth compressing")

    bookmarks = await compressed(site, "/api/bookmarks", "gzip")
    tagged = await compressed(site, "/api/apps?tags=none", "gzip")

    assert len(bookmarks.json()["groups"][0]["bookmarks"]) == 30
    assert tagged.headers["content-encoding"] == "gzip"


async def test_small_documents_are_sent_as_they_are(site: Site) -> None:
    site.put("Solo")
    for _ in range(3):
        response = await site.get("/api/apps", headers={"Accept-Encoding": "br, gzip"})

    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
