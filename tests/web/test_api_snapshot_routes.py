"""`/api/apps` and `/api/bookmarks` are answered ahead of the middleware stack: the same answer,
headers and metrics as the stack would give, and the stack's errors where the request is bad."""

from __future__ import annotations

import re

from tests.web.conftest import MakeSite, Site, settings_of


def count(metrics: str, route: str, status: int) -> float:
    pattern = (
        rf'startpunkt_http_requests_total\{{route="{re.escape(route)}",status="{status}"\}} (\S+)'
    )
    found = re.search(pattern, metrics)
    return float(found[1]) if found else 0.0


async def test_the_answer_carries_the_apis_headers_and_is_counted(site: Site) -> None:
    site.put("Grafana", tags=["ops"])
    site.put_bookmark("Docs")

    apps = await site.get("/api/apps")
    tagged = await site.get("/api/apps?tags=ops&_=1")  # unknown parameters are ignored
    bookmarks = await site.get("/api/bookmarks")
    again = await site.get("/api/apps", headers={"If-None-Match": apps.headers["etag"]})
    head = await site.client.head("/api/apps")
    metrics = (await site.get("/metrics")).text

    assert [a["name"] for a in apps.json()["groups"][0]["applications"]] == ["Grafana"]
    assert tagged.json()["groups"] == apps.json()["groups"]
    assert bookmarks.json()["groups"][0]["bookmarks"][0]["name"] == "Docs"
    for response in (apps, tagged, bookmarks):
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["etag"].startswith(f'"r{site.store.revision}-')
    assert again.status_code == 304
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == apps.headers["etag"]
    assert count(metrics, "/api/apps", 200) == 3
    assert count(metrics, "/api/apps", 304) == 1
    assert count(metrics, "/api/bookmarks", 200) == 1


async def test_bad_parameters_and_other_methods_get_the_apis_errors(site: Site) -> None:
    too_long = await site.get("/api/apps", params={"tags": "a" * 2000})
    posted = await site.client.post("/api/apps")
    bookmarks_query = await site.get("/api/bookmarks?tags=a")

    assert too_long.status_code == 400
    assert "tags" in too_long.json()["error"]
    assert posted.status_code == 405
    assert bookmarks_query.status_code == 200


async def test_without_watching_the_store_is_refreshed_first(make_site: MakeSite) -> None:
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        site.put("Listed")

    site = await make_site(settings_of(watch={"enabled": False}), refresh=refresh)

    apps = await site.get("/api/apps")

    assert calls == 1
    assert apps.json()["groups"][0]["applications"][0]["name"] == "Listed"
