"""Every route, asked by anonymous, a member of A, of B and an admin, over a real server: each
sees exactly the items meant for them, and nothing of the others (names, URLs, keys, tags)
reaches them in any body, header or validator."""

from __future__ import annotations

import logging
import re

import pytest

from startpunkt.backend import WatchStatus
from tests.web.accessdata import (
    APPS,
    EMAIL,
    GROUPS,
    IDENTITIES,
    SEES,
    USER,
    fill,
    leaked,
    names_in,
    settings,
)
from tests.web.conftest import MakeSite, Site, source_status

WHO = list(IDENTITIES)


@pytest.fixture
async def site(make_site: MakeSite) -> Site:
    config = settings()
    site = await make_site(config)
    fill(site.ctx.catalog, config)
    return site


@pytest.mark.parametrize("who", WHO)
async def test_api_apps_and_bookmarks_hold_only_what_the_viewer_may_see(
    site: Site, who: str
) -> None:
    headers = IDENTITIES[who]
    apps = await site.get("/api/apps", headers=headers)
    marks = await site.get("/api/bookmarks", headers=headers)
    assert apps.status_code == marks.status_code == 200
    assert names_in(apps.json(), "applications") == SEES[who] & set(APPS)
    assert names_in(marks.json(), "bookmarks") == SEES[who] - set(APPS)
    assert not leaked(apps.text + marks.text, who)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("path", ["/api/apps?tags=home,office,common", "/api/apps/home,office"])
async def test_tag_routes_never_add_a_hidden_app(site: Site, who: str, path: str) -> None:
    response = await site.get(path, headers=IDENTITIES[who])
    assert response.status_code == 200
    assert names_in(response.json(), "applications") <= SEES[who]
    assert not leaked(response.text, who)


@pytest.mark.parametrize("who", WHO)
async def test_one_app_by_group_and_name_is_404_when_hidden(site: Site, who: str) -> None:
    for name in APPS:
        response = await site.get(f"/api/apps/Tools/{name}", headers=IDENTITIES[who])
        if name in SEES[who]:
            assert response.status_code == 200, name
            assert response.json()["name"] == name
        else:
            # the same answer as for an app that does not exist at all
            assert response.status_code == 404, name
            missing = await site.get("/api/apps/Tools/Nosuchapp", headers=IDENTITIES[who])
            assert response.json()["error"].replace(name, "X") == missing.json()["error"].replace(
                "Nosuchapp", "X"
            )


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("path", ["/", "/home,office,common", "/?tags=office"])
async def test_the_page_renders_only_the_viewers_cards_chips_and_search_data(
    site: Site, who: str, path: str
) -> None:
    response = await site.get(path, headers=IDENTITIES[who])
    assert response.status_code == 200
    page = response.text
    assert not leaked(page, who)
    cards = set(re.findall(r'data-name="([^"]+)"', page)) or set(
        re.findall(r'class="card-name"[^>]*>([^<]+)<', page)
    )
    assert cards <= SEES[who]
    if path == "/":
        assert cards == SEES[who]
    # a tag used only by hidden apps gets no chip
    chips = set(re.findall(r'class="chip-hash">#</span>([^<]+)<', page))
    expected = {APPS[name][1] for name in SEES[who] & set(APPS)} - {""}
    assert chips == expected


@pytest.mark.parametrize("who", WHO)
async def test_diagnostics_are_for_admins_only(site: Site, who: str) -> None:
    api = await site.get("/api/diagnostics", headers=IDENTITIES[who])
    page = await site.get("/diagnostics", headers=IDENTITIES[who])
    home = await site.get("/", headers=IDENTITIES[who])
    if who == "admin":
        assert api.status_code == page.status_code == 200
        objects = {o["name"] for o in api.json()["objects"]}
        assert {n.lower() for n in SEES["admin"]} == objects
        assert 'href="/diagnostics"' in home.text
    else:
        assert api.status_code == page.status_code == 403
        assert "access.admins" in api.json()["error"]
        assert not leaked(api.text + page.text, "anonymous")
        assert 'href="/diagnostics"' not in home.text  # no link to a page that refuses them


@pytest.mark.parametrize("who", WHO)
async def test_metrics_carry_no_series_for_hidden_apps(site: Site, who: str) -> None:
    response = await site.get("/metrics", headers=IDENTITIES[who])
    assert response.status_code == 200
    assert "startpunkt_http_requests" in response.text  # the rest is still there
    assert not leaked(response.text, who)


async def test_sources_stay_public_by_default(site: Site) -> None:
    synced = source_status("startpunkt-application", "synced")
    site.backend.value = WatchStatus(watching=True, ready=True, sources=(synced,))
    response = await site.get("/api/sources")
    assert response.status_code == 200
    assert response.json()["sources"][0]["state"] == "synced"


@pytest.mark.parametrize("path", ["/api/apps", "/api/bookmarks", "/", "/api/apps/Tools/Bothgroups"])
async def test_a_validator_from_one_audience_never_earns_a_304_in_another(
    site: Site, path: str
) -> None:
    etags = {}
    for who in ("A", "B", "admin"):
        first = await site.get(path, headers=IDENTITIES[who])
        assert first.status_code == 200
        again = await site.get(path, headers=IDENTITIES[who])
        assert again.text == first.text
        etags[who] = first.headers.get("etag")
    if etags["A"] is None:  # the page is not cached at all (no-store)
        assert "no-store" in first.headers["cache-control"]
        return
    for who, etag in etags.items():
        same = await site.get(path, headers={**IDENTITIES[who], "If-None-Match": etag})
        assert same.status_code == 304
        for other in set(etags) - {who}:
            crossed = await site.get(path, headers={**IDENTITIES[other], "If-None-Match": etag})
            assert crossed.status_code == 200, (who, other)
            assert not leaked(crossed.text, other)


async def test_two_members_with_unrelated_extra_groups_share_one_cached_document(
    site: Site,
) -> None:
    one = await site.get("/api/apps", headers={USER: "alice", GROUPS: "family,chess"})
    two = await site.get("/api/apps", headers={USER: "ann", GROUPS: "family,golf"})
    assert one.headers["etag"] == two.headers["etag"]
    revalidated = await site.get(
        "/api/apps",
        headers={USER: "ann", GROUPS: "family,golf", "If-None-Match": one.headers["etag"]},
    )
    assert revalidated.status_code == 304


@pytest.mark.parametrize("path", ["/api/apps", "/api/bookmarks", "/", "/metrics"])
async def test_responses_vary_on_the_identity_headers_and_are_private(
    site: Site, path: str
) -> None:
    response = await site.get(path, headers=IDENTITIES["A"])
    vary = [v.strip().lower() for v in response.headers["vary"].split(",")]
    assert {USER.lower(), GROUPS.lower(), EMAIL.lower()} <= set(vary)
    assert "private" in response.headers["cache-control"] or (
        "no-store" in response.headers["cache-control"]
    )
    if path == "/":
        assert "accept-language" in vary  # the page's own Vary is kept


async def test_statics_and_icons_stay_publicly_cacheable(site: Site) -> None:
    """Icons are the bundled icon sets, the same for everyone: serving one says nothing about
    which items exist, so they are not filtered and keep their long public caching."""
    icon = await site.get("/icons/mdi/home.svg", headers=IDENTITIES["A"])
    assert icon.status_code == 200
    assert "vary" not in icon.headers
    assert "private" not in icon.headers["cache-control"]


async def test_forged_headers_from_an_untrusted_address_get_the_anonymous_view(
    make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(trusted=["10.0.0.0/8"])
    site = await make_site(config)
    fill(site.ctx.catalog, config)
    with caplog.at_level(logging.WARNING, logger="startpunkt.web.identity"):
        for _ in range(3):
            response = await site.get("/api/apps", headers=IDENTITIES["admin"])
            assert names_in(response.json(), "applications") == SEES["anonymous"] & set(APPS)
            assert not leaked(response.text, "anonymous")
        assert (await site.get("/api/diagnostics", headers=IDENTITIES["admin"])).status_code == 403
        anonymous = await site.get("/api/apps")
    assert anonymous.headers["etag"] == response.headers["etag"]
    warnings = [r.getMessage() for r in caplog.records if "Ignored identity headers" in r.message]
    assert len(warnings) == 1, warnings  # once per address, not once per request
    assert "127.0.0.1" in warnings[0]
    assert "trustedProxies" in warnings[0]


@pytest.mark.parametrize(
    ("default", "anonymous", "signed_in"),
    [
        ("authenticated", set(), {"Everyoneapp"}),
        ("nobody", set(), set()),
    ],
)
async def test_the_default_audience_of_items_without_groups(
    make_site: MakeSite, default: str, anonymous: set[str], signed_in: set[str]
) -> None:
    config = settings(default=default)
    site = await make_site(config)
    fill(site.ctx.catalog, config)
    nobody = await site.get("/api/apps")
    carol = await site.get("/api/apps", headers={USER: "carol"})
    admin = await site.get("/api/apps", headers=IDENTITIES["admin"])
    assert names_in(nobody.json(), "applications") == anonymous
    assert names_in(carol.json(), "applications") == signed_in
    assert names_in(admin.json(), "applications") == set(APPS)


async def test_without_access_configured_nothing_changes(make_site: MakeSite) -> None:
    config = settings()
    site = await make_site()  # default settings: no access section
    fill(site.ctx.catalog, config)
    response = await site.get("/api/apps", headers=IDENTITIES["anonymous"])
    assert names_in(response.json(), "applications") == set(APPS)
    assert "x-forwarded-user" not in response.headers.get("vary", "").lower()
    assert (await site.get("/api/diagnostics")).status_code == 200
