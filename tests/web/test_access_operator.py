"""`/metrics`, `/api/diagnostics` and `/api/sources`: public, admins only, or on their own port;
and the proxy's address is the one that connects, whatever `X-Forwarded-For` claims."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from startpunkt.backend import WatchStatus
from tests.serving import Served, free_port
from tests.web.accessdata import (
    APPS,
    BOOKMARKS,
    IDENTITIES,
    SEES,
    application,
    bookmark,
    fill,
    leaked,
    names_in,
    settings,
)
from tests.web.conftest import MakeSite, source_status

OPERATOR = ["/metrics", "/api/diagnostics", "/api/sources"]


@pytest.mark.parametrize("path", OPERATOR)
async def test_admins_mode_refuses_everyone_but_admins(make_site: MakeSite, path: str) -> None:
    config = settings(operatorEndpoints="admins")
    site = await make_site(config)
    fill(site.ctx.catalog, config)
    for who in ("anonymous", "A", "B"):
        response = await site.get(path, headers=IDENTITIES[who])
        assert response.status_code == 403, who
        assert "startpunkt.access.admins" in response.json()["error"]
        assert not leaked(response.text, "anonymous")
    assert (await site.get(path, headers=IDENTITIES["admin"])).status_code == 200


async def test_port_mode_moves_them_off_the_main_port(make_site: MakeSite) -> None:
    config = settings(operatorEndpoints="port", operatorPort=free_port())
    site = await make_site(config)
    fill(site.ctx.catalog, config)
    for path in [*OPERATOR, "/diagnostics"]:
        response = await site.get(path, headers=IDENTITIES["admin"])
        assert response.status_code == 404, path
        assert not leaked(response.text, "anonymous")
    assert (await site.get("/api/apps")).status_code == 200


def write_manifests(directory: Path) -> None:
    directory.mkdir(parents=True)
    docs = [application(name, groups, tags) for name, (groups, tags) in APPS.items()]
    docs += [bookmark(name, groups) for name, groups in BOOKMARKS.items()]
    (directory / "items.yaml").write_text(yaml.safe_dump_all(docs))


def serve(tmp_path: Path, access: str) -> Served:
    write_manifests(tmp_path / "manifests")
    config = tmp_path / "startpunkt.yaml"
    config.write_text(f"startpunkt:\n  availability: {{enabled: false}}\n  access: {access}\n")
    args = ["--manifests", str(tmp_path / "manifests"), "--config", str(config)]
    return Served(args, tmp_path / "log")


def app_names(url: str, headers: dict[str, str]) -> set[str]:
    return names_in(httpx.get(url + "/api/apps", headers=headers, timeout=5).json(), "applications")


def test_the_process_serves_the_operator_port_unfiltered_and_the_main_port_without_them(
    tmp_path: Path,
) -> None:
    port = free_port()
    with serve(
        tmp_path,
        "{proxy: {trustedProxies: [127.0.0.1]}, admins: [admins], "
        f"operatorEndpoints: port, operatorPort: {port}}}",
    ) as served:
        operator = f"http://127.0.0.1:{port}"
        metrics = httpx.get(operator + "/metrics", timeout=5)
        assert metrics.status_code == 200
        diagnostics = httpx.get(operator + "/api/diagnostics", timeout=5).json()
        assert {o["name"] for o in diagnostics["objects"]} == {n.lower() for n in SEES["admin"]}
        assert httpx.get(operator + "/api/sources", timeout=5).status_code == 200
        assert httpx.get(operator + "/api/apps", timeout=5).status_code == 404  # only those
        for path in OPERATOR:
            refused = httpx.get(served.url + path, headers=IDENTITIES["admin"], timeout=5)
            assert refused.status_code == 404, path
            assert "operatorPort" in refused.json()["error"]
        assert app_names(served.url, IDENTITIES["A"]) == SEES["A"] & set(APPS)
    assert "Operator endpoints are served on" in served.log()


def test_a_busy_operator_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket  # noqa: PLC0415

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        served = serve(tmp_path, f"{{operatorEndpoints: port, operatorPort: {port}}}")
        with pytest.raises(RuntimeError, match="exited early") as raised:
            served.__enter__()
        served._log.close()
    assert f"cannot listen on 127.0.0.1:{port} (startpunkt.access.operatorPort)" in str(
        raised.value
    )
    assert served.process is not None
    assert served.process.returncode == 2


def test_x_forwarded_for_neither_unlocks_nor_hides_an_identity(tmp_path: Path) -> None:
    """The peer address decides. A client on loopback cannot pretend to come from a trusted
    range, and a trusted proxy on loopback that adds X-Forwarded-For is still trusted."""
    with serve(tmp_path, "{proxy: {trustedProxies: [10.0.0.0/8]}, admins: [admins]}") as served:
        forged = {**IDENTITIES["admin"], "X-Forwarded-For": "10.1.2.3"}
        assert app_names(served.url, forged) == SEES["anonymous"] & set(APPS)
    with serve(
        tmp_path / "second", "{proxy: {trustedProxies: [127.0.0.1]}, admins: [admins]}"
    ) as served:
        proxied = {**IDENTITIES["B"], "X-Forwarded-For": "203.0.113.7"}
        assert app_names(served.url, proxied) == SEES["B"] & set(APPS)


@pytest.mark.parametrize("mode", ["admins", "port"])
async def test_readiness_keeps_the_source_details_for_those_who_may_read_them(
    make_site: MakeSite, mode: str
) -> None:
    site = await make_site(settings(operatorEndpoints=mode, operatorPort=free_port()))
    hidden = source_status("ingress", "syncing", "secret-team")
    site.backend.value = WatchStatus(watching=True, ready=True, sources=(hidden,))
    anonymous = await site.get("/readyz")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ready"}
    admin = await site.get("/readyz", headers=IDENTITIES["admin"])
    assert ("secret-team" in admin.text) is (mode == "admins")
