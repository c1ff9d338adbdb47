"""`/api/sources` and `/readyz` tell anyone how each source is doing, never where the files are
or what the API server said in detail: that goes to the log, for the operator."""

from __future__ import annotations

from pathlib import Path

import httpx

from startpunkt.backend import WatchStatus
from tests.serving import Served
from tests.waiting import wait_until
from tests.web.conftest import MakeSite, source_status

FORBIDDEN = (
    '403 Forbidden: applications.startpunkt.ullberg.us is forbidden: User "system:serviceaccount:'
    'startpunkt:startpunkt" cannot list resource "applications" in API group '
    '"startpunkt.ullberg.us" at the cluster scope'
)
REFUSED = "ConnectError [Errno 111] Connect call failed ('10.96.0.1', 443)"
TIMEOUT = "ReadTimeout timed out reading https://10.96.0.1:443/apis/x?watch=1"


def test_manifests_are_published_by_relative_name_and_a_short_category(tmp_path: Path) -> None:
    root = tmp_path / "secret-location" / "manifests"
    (root / "team").mkdir(parents=True)
    (root / "team" / "broken.yaml").write_text("kind: [unclosed\n")
    (root / "weird.yaml").write_text("- just\n- a list\n")
    with Served(["--manifests", str(root)], tmp_path / "log") as served:
        sources = httpx.get(served.url + "/api/sources").json()
        ready = httpx.get(served.url + "/readyz").json()
        log = served.log()

    for body in (sources, ready["sources"]):
        assert str(tmp_path) not in str(body)
        assert body["manifests"] == "manifests"
        assert set(body["errors"]) == {"team/broken.yaml", "weird.yaml"}
        assert body["errors"]["team/broken.yaml"].startswith("not valid YAML (line 2")
        assert body["errors"]["weird.yaml"] == "not a usable manifest (see the log)"
    # the operator still gets every detail
    assert str(root / "team" / "broken.yaml") in log
    assert str(root / "weird.yaml") in log


async def test_api_server_errors_are_published_as_a_category(make_site: MakeSite) -> None:
    site = await make_site(ready=lambda: False)
    site.backend.value = WatchStatus(
        watching=True,
        ready=False,
        sources=(
            source_status("startpunkt-application", "forbidden", last_error=FORBIDDEN),
            source_status("ingress", "reconnecting", last_error=REFUSED),
            source_status("route", "reconnecting", last_error=TIMEOUT),
            source_status("istio", "syncing", last_error="watch ended immediately"),
            source_status("httproute", "synced"),
        ),
    )

    sources = (await site.get("/api/sources")).json()
    ready = await site.get("/readyz")

    assert ready.status_code == 503
    for body in (sources, ready.json()["sources"]):
        errors = [s["lastError"] for s in body["sources"]]
        assert errors == [
            "403 Forbidden",
            "ConnectError",
            "ReadTimeout",
            "watch ended immediately",
            None,
        ]
    for secret in ("system:serviceaccount", "10.96.0.1", "cluster scope"):
        assert secret not in ready.text
        assert secret not in str(sources)


def test_the_published_category_follows_a_file_that_is_fixed(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    bad = root / "app.yaml"
    bad.write_text("kind: [\n")
    with Served(["--manifests", str(root)], tmp_path / "log") as served:
        assert "app.yaml" in httpx.get(served.url + "/api/sources").json()["errors"]
        bad.write_text("kind: ConfigMap\nmetadata: {name: x, namespace: y}\n")
        wait_until(
            lambda: httpx.get(served.url + "/api/sources").json()["errors"] == {},
            what="the fixed file",
        )
