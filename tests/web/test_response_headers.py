"""Every response tells browsers not to sniff, and no redirect points at the request's Host."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.web.conftest import Site

EVERY_KIND = [
    "/api/apps",
    "/api/apps/Tools/grafana",  # a JSON 404
    "/api/no/such/path",
    "/api/config",
    "/api/openapi.json",
    "/api/diagnostics?verdict=nonsense",  # a JSON 400
    "/api/sources",
    "/livez",
    "/readyz",
    "/metrics",
    "/",
    "/diagnostics",
    "/theme.css",
    "/statics/app.css",
    "/statics/missing.js",
    "/icons/mdi/nothing-like-this.svg",
    "/a/b/c",
]


@pytest.mark.parametrize("path", EVERY_KIND)
async def test_every_response_forbids_content_sniffing(site: Site, path: str) -> None:
    site.put("Grafana")
    response = await site.get(path)
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.status_code


async def test_a_not_modified_answer_and_the_event_stream_forbid_sniffing_too(site: Site) -> None:
    first = await site.get("/api/apps")
    again = await site.get("/api/apps", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["x-content-type-options"] == "nosniff"
    async with site.stream() as events:
        assert events.response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/diagnostics/", "/diagnostics"),
        ("/admin/", "/admin"),
        ("/admin/?lang=sv-SE", "/admin?lang=sv-SE"),
        ("/theme.css/", "/theme.css"),
    ],
)
async def test_a_trailing_slash_redirect_stays_on_the_site_whatever_the_host_header(
    site: Site, path: str, target: str
) -> None:
    response = await site.get(path, headers={"Host": "evil.example"})
    assert response.status_code in (301, 307, 308)
    assert response.headers["location"] == target
    followed = await site.get(response.headers["location"])
    assert followed.status_code == 200


@pytest.mark.parametrize("path", ["//evil.example/", "/%5Cevil.example/", "/\\evil.example/"])
async def test_a_redirect_can_never_be_read_as_another_host(site: Site, path: str) -> None:
    response = await site.get(path, headers={"Host": "evil.example"})
    location = response.headers.get("location")
    if location is not None:
        assert location.startswith("/"), location
        assert urlsplit(urljoin(site.url + "/", location)).netloc == urlsplit(site.url).netloc
        assert not location.startswith(("//", "/\\")), location


async def test_a_path_that_matches_nothing_is_the_page_not_found(site: Site) -> None:
    response = await site.get("/a/b/c/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
