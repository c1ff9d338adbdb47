"""`/api/apps` and `/api/bookmarks`: the original's shapes, sorted and grouped, from memory."""

from __future__ import annotations

from tests.web.conftest import MakeSite, Site, settings_of


async def test_empty_store_is_200_with_no_groups(site: Site) -> None:
    for path in ("/api/apps", "/api/bookmarks", "/api/apps?tags=dev", "/api/apps/dev"):
        response = await site.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"groups": [], "revision": 0}


async def test_apps_are_grouped_and_sorted_by_group_location_and_name(site: Site) -> None:
    site.put("b-app", "Media", location=2)
    site.put("a-app", "media", location=0)  # 0 sorts as 1000
    site.put("C-app", "Media")  # missing sorts as 1000; names compare case-insensitively
    site.put("Zed", "Admin", location=5)

    body = (await site.get("/api/apps")).json()

    assert [g["name"] for g in body["groups"]] == ["Admin", "Media"]
    assert [a["name"] for a in body["groups"][1]["applications"]] == ["b-app", "a-app", "C-app"]
    assert body["revision"] == site.ctx.catalog.revision


async def test_an_application_has_the_original_shape(site: Site) -> None:
    site.put("Grafana", "Monitoring", info="Dashboards", icon="mdi:chart", tags=["ops", "dev"])

    [group] = (await site.get("/api/apps")).json()["groups"]

    assert group == {
        "name": "Monitoring",
        "applications": [
            {
                "key": "startpunkt/default/grafana",
                "name": "Grafana",
                "group": "Monitoring",
                "icon": "mdi:chart",
                "url": "https://grafana.example",
                "info": "Dashboards",
                "targetBlank": False,
                "location": 1000,
                "enabled": True,
                "tags": "ops,dev",
                "namespace": "default",
                "resourceName": "grafana",
                "hasOwnerReferences": False,
                "source": "startpunkt",
                "status": "unknown",
                "available": None,
            }
        ],
    }


async def test_bookmarks_are_grouped_and_sorted(site: Site) -> None:
    site.put_bookmark("Docs", "Reading", location=3)
    site.put_bookmark("blog", "reading")
    site.put_bookmark("Api", "Dev")

    body = (await site.get("/api/bookmarks")).json()

    assert [g["name"] for g in body["groups"]] == ["Dev", "Reading"]
    assert [b["name"] for b in body["groups"][1]["bookmarks"]] == ["Docs", "blog"]
    assert body["groups"][0]["bookmarks"][0] == {
        "key": "bookmarks/default/api",
        "name": "Api",
        "group": "Dev",
        "url": "https://api.example",
        "location": 1000,
        "namespace": "default",
        "resourceName": "api",
        "hasOwnerReferences": False,
        "source": "bookmarks",
    }


async def test_one_app_is_found_case_insensitively(site: Site) -> None:
    site.put("Grafana", "Monitoring")

    response = await site.get("/api/apps/MONITORING/grafana")

    assert response.status_code == 200
    assert response.json()["key"] == "startpunkt/default/grafana"


async def test_an_unknown_app_is_a_json_404(site: Site) -> None:
    response = await site.get("/api/apps/Monitoring/nope")

    assert response.status_code == 404
    assert response.json() == {
        "error": "no application named 'nope' in group 'Monitoring'",
        "status": 404,
    }


async def test_unknown_api_paths_and_methods_are_json_errors(site: Site) -> None:
    missing = await site.get("/api/apps/a/b/c")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    assert "/api/apps/a/b/c" in missing.json()["error"]

    wrong = await site.client.post("/api/apps")
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405
    assert wrong.headers["allow"] == "GET, HEAD"


async def test_ping_answers_like_the_original(site: Site) -> None:
    response = await site.get("/api/apps/ping")
    assert response.status_code == 200
    assert response.text == "Pong from Application Resource"
    assert (await site.get("/api/bookmarks/ping")).text == "Pong from Bookmark Resource"


async def test_tags_filter_in_query_and_path_keeps_untagged_apps(site: Site) -> None:
    site.put("Dev-tool", tags=["Dev"])
    site.put("Home-tool", tags=["home"])
    site.put("Plain")

    async def names(path: str) -> list[str]:
        response = await site.get(path)
        assert response.status_code == 200, path
        return [a["name"] for g in response.json()["groups"] for a in g["applications"]]

    assert await names("/api/apps?tags=DEV") == ["Dev-tool", "Plain"]
    assert await names("/api/apps/dev") == ["Dev-tool", "Plain"]
    assert await names("/api/apps/dev, home") == ["Dev-tool", "Home-tool", "Plain"]
    assert await names("/api/apps?tags=none") == ["Plain"]
    assert await names("/api/apps?tags=") == ["Dev-tool", "Home-tool", "Plain"]
    assert await names("/api/apps") == ["Dev-tool", "Home-tool", "Plain"]


async def test_root_shows_only_untagged_apps_unless_show_all_on_root(make_site: MakeSite) -> None:
    site = await make_site(settings_of(web={"showAllOnRoot": False}))
    site.put("Dev-tool", tags=["dev"])
    site.put("Plain")

    body = (await site.get("/api/apps")).json()

    assert [a["name"] for g in body["groups"] for a in g["applications"]] == ["Plain"]


async def test_too_many_tags_is_a_400_naming_the_limit(site: Site) -> None:
    response = await site.get("/api/apps", params={"tags": ",".join(f"t{i}" for i in range(65))})

    assert response.status_code == 400
    assert response.json() == {"error": "tags: at most 64 tags, got 65", "status": 400}
