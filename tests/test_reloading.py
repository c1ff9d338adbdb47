"""Editing the configuration file while Startpunkt runs."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx

from startpunkt.config import Settings
from startpunkt.reloading import split
from tests.serving import Served
from tests.waiting import wait_until

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain, namespace: default}
spec:
  rules:
    - host: plain.lab.example
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: plain, port: {number: 80}}}}]
"""


def test_what_decides_the_watches_waits_for_a_restart_and_the_rest_applies() -> None:
    running = Settings()
    wanted = Settings.model_validate(
        {
            "web": {"title": "New"},
            "ingress": {"enabled": False, "onlyAnnotated": False},
            "namespaceSelector": {"any": False, "matchNames": ["a"]},
        }
    )
    applied, waiting = split(running, wanted)
    assert applied.web.title == "New"
    assert applied.ingress.only_annotated is False
    assert applied.ingress.enabled is True  # stopping a source needs a restart
    assert applied.namespace_selector == running.namespace_selector
    assert waiting == ["namespace_selector", "ingress.enabled"]


def rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_an_edited_configuration_reaches_the_api_the_apps_and_open_pages(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "ingress.yaml").write_text(INGRESS)
    config = tmp_path / "startpunkt.yaml"
    config.write_text("startpunkt:\n  web: {title: Before}\n  availability: {enabled: false}\n")
    events: list[dict[str, Any]] = []

    with Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log") as s:
        assert httpx.get(s.url + "/api/apps").json()["groups"] == []  # not annotated

        def listen() -> None:
            with httpx.stream("GET", s.url + "/api/updates/stream", timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        events.append(json.loads(line.removeprefix("data:")))

        threading.Thread(target=listen, daemon=True).start()
        wait_until(lambda: events, what="the stream's first heartbeat")

        rewrite(
            config,
            "startpunkt:\n  web: {title: After}\n  availability: {enabled: false}\n"
            "  ingress: {onlyAnnotated: false}\n"
            "  namespaceSelector: {any: false, matchNames: [elsewhere]}\n",
        )
        wait_until(
            lambda: httpx.get(s.url + "/api/config").json()["config"]["web"]["title"] == "After",
            what="the new title",
        )
        names = [
            a["name"]
            for g in httpx.get(s.url + "/api/apps").json()["groups"]
            for a in g["applications"]
        ]
        assert names == ["plain"]  # the Ingress counts now, in the namespace still watched
        kinds = [e["type"] for e in events]
        assert "APPLICATION_ADDED" in kinds
        assert "CONFIG_CHANGED" in kinds
        assert "<title>After" in httpx.get(s.url + "/").text

        rewrite(config, "startpunkt:\n  web: {title: [broken\n")
        wait_until(lambda: "Keeping the configuration in use" in s.log(), what="the error")
        assert httpx.get(s.url + "/api/config").json()["config"]["web"]["title"] == "After"
    log = s.log()
    assert "namespace_selector" in log
    assert "take effect after a restart" in log
