"""Snapshot responses carry a strong ETag; a client that has the current one gets a 304."""

from __future__ import annotations

from startpunkt.model import Availability, State
from startpunkt.store import probe_target
from tests.web.conftest import Site


async def test_if_none_match_with_the_current_etag_is_a_304(site: Site) -> None:
    site.put("Grafana")
    first = await site.get("/api/apps")
    etag = first.headers["etag"]
    assert etag.startswith(f'"r{site.ctx.catalog.revision}-')

    again = await site.get("/api/apps", headers={"If-None-Match": etag})
    weak = await site.get("/api/apps", headers={"If-None-Match": f'"x", W/{etag}'})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert weak.status_code == 304


async def test_a_store_change_gives_a_new_etag_and_the_new_body(site: Site) -> None:
    site.put("Grafana")
    etag = (await site.get("/api/apps")).headers["etag"]

    site.put("Loki")
    response = await site.get("/api/apps", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert len(response.json()["groups"][0]["applications"]) == 2


async def test_probe_details_without_a_new_revision_still_change_the_etag(site: Site) -> None:
    [change] = site.put("Grafana")
    target = probe_target(change.item)  # type: ignore[arg-type]
    assert target is not None
    site.feed.set_availability(target, Availability(State.UP, 200, 12.0, 1.0))
    before = await site.get("/api/apps")
    revision = site.ctx.catalog.revision

    site.feed.set_availability(target, Availability(State.UP, 200, 99.0, 2.0))
    after = await site.get("/api/apps", headers={"If-None-Match": before.headers["etag"]})

    assert site.ctx.catalog.revision == revision  # same state: no change record...
    assert after.status_code == 200  # ...but what the page shows did change
    assert after.json()["groups"][0]["applications"][0]["latencyMs"] == 99.0


async def test_each_tag_set_and_bookmarks_have_their_own_etag(site: Site) -> None:
    site.put("Dev-tool", tags=["dev"])
    site.put("Ops-tool", tags=["ops"])
    site.put_bookmark("Docs")

    etags = {
        path: (await site.get(path)).headers["etag"]
        for path in ("/api/apps", "/api/apps?tags=dev", "/api/apps?tags=ops", "/api/bookmarks")
    }

    assert len(set(etags.values())) == 4
    for path, etag in etags.items():
        response = await site.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 304, path
