"""Whoever can create an Application must not be able to use the checker as a port scanner:
a healthUrl stays on the app's own host unless the configuration allows more, redirects to
other hosts are not followed, and anonymous readers see the state, not status codes, latencies
or error texts. Real local HTTP servers, a manifests directory, the real server process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import Served, free_port
from tests.waiting import wait_until


class _Handler(BaseHTTPRequestHandler):
    location: str | None = None

    def do_HEAD(self) -> None:
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def make_server() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def make(location: str | None = None) -> int:
        handler = type("Handler", (_Handler,), {"location": location})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def write_app(root: Path, url: str, health: str | None = None, name: str = "shop") -> None:
    spec: dict[str, Any] = {"name": name, "group": "Shop", "url": url}
    if health:
        spec["healthUrl"] = health
    (root / f"{name}.yaml").write_text(
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        f"metadata: {{name: {name}, namespace: shop}}\nspec: {json.dumps(spec)}\n"
    )


def serve(tmp_path: Path, availability: str = "") -> Served:
    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        f"startpunkt:\n  availability: {{interval: 500ms, timeout: 2{availability}}}\n"
    )
    root = tmp_path / "m"
    return Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log")


def app(base: str, name: str = "shop") -> dict[str, Any]:
    groups = httpx.get(f"{base}/api/apps", timeout=5).json()["groups"]
    return next(a for g in groups for a in g["applications"] if a["name"] == name)


def notes(base: str, name: str = "shop") -> list[str]:
    objects = httpx.get(f"{base}/api/diagnostics", timeout=5).json()["objects"]
    return next(o["notes"] for o in objects if o["name"] == name)


def test_a_health_url_on_another_host_is_refused_and_the_app_url_probed(
    tmp_path: Path, make_server: Any
) -> None:
    internal = make_server()  # think etcd on 127.0.0.1:2379
    (tmp_path / "m").mkdir()
    # the shown URL is on `localhost`, a closed port; the health URL on another host answers
    write_app(tmp_path / "m", f"http://localhost:{free_port()}/", f"http://127.0.0.1:{internal}/")
    with serve(tmp_path) as s:
        wait_until(lambda: app(s.url)["status"] != "unknown", what="a first probe")
        shown = app(s.url)
        assert shown["status"] == "down"
        assert shown["available"] is False
        assert not {"statusCode", "latencyMs", "error"} & set(shown)
        [note] = [n for n in notes(s.url) if "healthUrl" in n]
        assert "127.0.0.1" in note
        assert "availability.healthUrlHosts" in note


def test_health_urls_on_the_apps_own_host_or_an_allowed_one_are_probed(
    tmp_path: Path, make_server: Any
) -> None:
    port = make_server()
    other = make_server()
    (tmp_path / "m").mkdir()
    write_app(tmp_path / "m", f"http://127.0.0.1:{free_port()}/", f"http://127.0.0.1:{port}/")
    write_app(tmp_path / "m", "http://localhost:1/", f"http://127.0.0.1:{other}/x", name="allowed")
    with serve(tmp_path, ", healthUrlHosts: ['127.0.0.1'], publishDetails: true") as s:
        wait_until(lambda: app(s.url)["status"] == "up", what="the same-host health URL")
        wait_until(lambda: app(s.url, "allowed")["status"] == "up", what="the allowed host")
        # an operator who asks for it publishes the detail
        assert app(s.url)["statusCode"] == 200
        assert "latencyMs" in app(s.url)
        assert not [n for n in notes(s.url, "allowed") if "healthUrl" in n]


@pytest.mark.parametrize("internal_open", [True, False])
def test_the_state_does_not_tell_whether_a_redirect_target_on_another_host_answers(
    tmp_path: Path, make_server: Any, internal_open: bool
) -> None:
    internal = make_server() if internal_open else free_port()
    front = make_server(location=f"http://127.0.0.1:{internal}/version")
    (tmp_path / "m").mkdir()
    write_app(tmp_path / "m", f"http://localhost:{front}/")
    with serve(tmp_path) as s:
        wait_until(lambda: app(s.url)["status"] != "unknown", what="a first probe")
        # the redirect itself is the answer (3xx counts as up, as for a login redirect)
        assert app(s.url)["status"] == "up"
