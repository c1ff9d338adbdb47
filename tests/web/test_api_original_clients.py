"""What clients of the original find: the editor endpoints refused clearly whatever the
method, the health paths its chart probes, and no update check against its releases."""

from __future__ import annotations

import pytest

from tests.web.conftest import MakeSite, Site, settings_of

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@pytest.mark.parametrize("path", ["/api/apps/manage", "/api/bookmarks/manage"])
@pytest.mark.parametrize("method", METHODS)
async def test_every_method_on_the_editor_endpoints_is_refused(
    site: Site, path: str, method: str
) -> None:
    # a group named "manage" must not make the editor route answer with an app list
    site.put("Grafana", "manage")

    response = await site.client.request(
        method, f"{path}?namespace=default&name=grafana", json={"name": "x"}
    )

    assert response.status_code == 405
    assert response.headers["allow"] == ""
    if method != "HEAD":
        body = response.json()
        assert body["status"] == 405
        assert body["error"].startswith("the API is read-only")
    assert site.store.snapshot().applications[0].name == "Grafana"


async def test_the_originals_health_paths_answer_like_livez_and_readyz(
    make_site: MakeSite,
) -> None:
    ready = False
    site = await make_site(ready=lambda: ready)

    not_yet = {p: (await site.get(p)).status_code for p in ("/q/health/ready", "/readyz")}
    alive = {p: (await site.get(p)).status_code for p in ("/q/health/live", "/livez")}
    started = await site.get("/q/health/started")
    ready = True
    now = {p: (await site.get(p)).status_code for p in ("/q/health/ready", "/readyz")}

    assert not_yet == {"/q/health/ready": 503, "/readyz": 503}
    assert alive == {"/q/health/live": 200, "/livez": 200}
    assert (started.status_code, started.json()) == (200, {"status": "started"})
    assert now == {"/q/health/ready": 200, "/readyz": 200}


async def test_the_original_ui_is_never_told_to_check_for_updates(make_site: MakeSite) -> None:
    site = await make_site(settings_of(web={"checkForUpdates": True}))

    config = (await site.get("/api/config")).json()["config"]

    assert config["web"]["checkForUpdates"] is False
    assert config["version"] == site.ctx.version  # this project's version, not the original's
