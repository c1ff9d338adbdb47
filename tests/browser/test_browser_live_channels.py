"""The live channels as the original's pages use them, in Chromium against `startpunkt serve`: an
EventSource that only sets `onmessage` (the SSE period's pages) and a WebSocket on
`/api/ws/updates` (the released v3.x pages) both receive a file added under `--manifests`."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.serving import Served

LISTEN = """() => {
    window.viaSse = [];
    window.viaWs = [];
    const source = new EventSource("/api/updates/stream");
    source.onmessage = (event) => window.viaSse.push(JSON.parse(event.data));
    const ws = new WebSocket(location.origin.replace("http", "ws") + "/api/ws/updates");
    ws.onmessage = (event) => window.viaWs.push(JSON.parse(event.data));
}"""
ADDED = """(name) => [window.viaSse, window.viaWs].every((got) => got.some(
    (m) => m.type === "APPLICATION_ADDED" && m.data && m.data.name === name))"""


def test_onmessage_and_websocket_clients_receive_an_added_file(page: Page, tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    config = tmp_path / "startpunkt.yaml"
    config.write_text("startpunkt:\n  availability: {enabled: false}\n")
    with Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log") as served:
        page.goto(served.url + "/api/config")  # same origin, without the page's own script
        page.evaluate(LISTEN)
        page.wait_for_function(
            "() => [window.viaSse, window.viaWs].every((got) => got.some("
            "(m) => m.type === 'HEARTBEAT'))"
        )
        (root / "notes.yaml").write_text(
            "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
            "metadata: {name: notes, namespace: default}\n"
            "spec: {name: Notes, group: Tools, url: 'https://notes.example'}\n"
        )
        page.wait_for_function(ADDED, arg="Notes", timeout=20_000)
        via_sse, via_ws = page.evaluate(
            "() => [window.viaSse, window.viaWs].map((got) => got.find("
            "(m) => m.type === 'APPLICATION_ADDED'))"
        )

    assert via_sse == via_ws
    assert via_sse["data"]["url"] == "https://notes.example"
