"""The whole process answers what its /api/openapi.json promises: real responses from the
bundled examples and from the real kube-apiserver, and real stream envelopes, validated against
the components the server generates from its typed shapes."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx
import pytest
from jsonschema import ValidationError

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.openapicontract import Contract
from tests.serving import Served
from tests.test_serve_end_to_end import cluster_args
from tests.waiting import wait_until

EXAMPLES = Path(__file__).parents[1] / "examples"
CONFIG = "startpunkt:\n  availability: {enabled: false}\n  web: {title: %s}\n"


def contract_of(base: str) -> Contract:
    return Contract(httpx.get(f"{base}/api/openapi.json", timeout=5).json())


def check_routes(base: str, contract: Contract, cases: list[tuple[str, str]]) -> None:
    for url, template in cases:
        response = httpx.get(base + url, timeout=5)
        assert response.status_code == 200, (url, response.text)
        contract.check(contract.response_schema(template, 200), response.json())


class Envelopes:
    """The `data:` envelopes of one open /api/updates/stream, read by a thread into a queue."""

    def __init__(self, url: str) -> None:
        self._queue: Queue[dict[str, Any]] = Queue()
        self._opened = threading.Event()
        threading.Thread(target=self._read, args=(url,), daemon=True).start()
        assert self._opened.wait(10), "the stream did not open"

    def _read(self, url: str) -> None:
        with httpx.stream("GET", url, timeout=httpx.Timeout(5, read=30)) as response:
            self._opened.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    self._queue.put(json.loads(line.removeprefix("data: ")))

    def until(self, type_: str, timeout: float = 15) -> list[dict[str, Any]]:
        """Every envelope up to and including the first of `type_`."""
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["type"] != type_:
            try:
                seen.append(self._queue.get(timeout=timeout))
            except Empty:
                raise AssertionError(f"no {type_} within {timeout} s; saw {seen}") from None
        return seen


@pytest.fixture
def examples(tmp_path: Path) -> Iterator[tuple[Served, Path, Path]]:
    """A server over a copy of the bundled examples, and its config file (which it follows)."""
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    config = tmp_path / "startpunkt.yaml"
    config.write_text(CONFIG % "Home")
    args = ["--manifests", str(root), "--config", str(config)]
    with Served(args, tmp_path / "log", ready_path="/readyz") as served:
        yield served, root, config


def test_every_read_route_over_the_examples_matches_the_document(
    examples: tuple[Served, Path, Path],
) -> None:
    served, _, _ = examples
    contract = contract_of(served.url)
    apps = httpx.get(served.url + "/api/apps", timeout=5).json()
    first = apps["groups"][0]["applications"][0]
    assert sum(len(g["applications"]) for g in apps["groups"]) > 5  # a realistic page

    check_routes(
        served.url,
        contract,
        [
            ("/api/apps", "/api/apps"),
            ("/api/apps?tags=media", "/api/apps"),
            ("/api/apps/media", "/api/apps/{tags}"),
            (f"/api/apps/{first['group']}/{first['name']}", "/api/apps/{group}/{name}"),
            ("/api/bookmarks", "/api/bookmarks"),
            ("/api/config", "/api/config"),
            ("/api/theme", "/api/theme"),
            ("/api/i8n", "/api/i8n"),
            ("/api/i8n/sv-SE", "/api/i8n/{language}"),
            ("/api/diagnostics", "/api/diagnostics"),
            ("/api/sources", "/api/sources"),
            ("/readyz", "/readyz"),
        ],
    )
    # the schemas are closed: a field the document does not know is caught, not waved through
    with pytest.raises(ValidationError, match="unexpected"):
        contract.check(contract.component("Application"), {**first, "colour": "red"})


def test_stream_envelopes_over_the_examples_match_the_document(
    examples: tuple[Served, Path, Path],
) -> None:
    served, root, config = examples
    contract = contract_of(served.url)
    stream = Envelopes(served.url + "/api/updates/stream")
    seen = stream.until("HEARTBEAT")

    media = root / "apps" / "media.yaml"
    media.write_text(media.read_text().replace("Jellyfin", "Jellyfin Media"))
    seen += stream.until("APPLICATION_UPDATED")
    (root / "bookmarks" / "bookmarks.yaml").unlink()
    seen += stream.until("BOOKMARK_REMOVED")
    config.write_text(CONFIG % "Start")
    seen += stream.until("CONFIG_CHANGED")
    # a resume from a revision the server never had
    seen += Envelopes(served.url + "/api/updates/stream?lastEventId=1").until("RESYNC")

    types = {envelope["type"] for envelope in seen}
    assert {"HEARTBEAT", "APPLICATION_UPDATED", "BOOKMARK_REMOVED", "CONFIG_CHANGED"} <= types
    assert "RESYNC" in types
    for envelope in seen:
        contract.check(contract.component("StreamEvent"), envelope)


@pytest.mark.cluster
def test_cluster_mode_responses_match_the_document(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("shaped", kube_namespace))
    served = Served(cluster_args(crd_cluster, kube_namespace, tmp_path), tmp_path / "log")
    with served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        contract = contract_of(served.url)
        check_routes(
            served.url,
            contract,
            [
                ("/api/apps", "/api/apps"),
                ("/api/apps/Tests/Shaped", "/api/apps/{group}/{name}"),
                ("/api/bookmarks", "/api/bookmarks"),
                ("/api/diagnostics", "/api/diagnostics"),
                ("/api/sources", "/api/sources"),
                ("/readyz", "/readyz"),
            ],
        )
        sources = httpx.get(served.url + "/api/sources", timeout=5).json()
        # the reflectors' own status, not an empty document that any schema would accept
        assert sources["watching"] is True
        assert any(s["state"] == "synced" and s["synced"] for s in sources["sources"])
        stream = Envelopes(served.url + "/api/updates/stream")
        seen = stream.until("HEARTBEAT")
        crd_cluster.api.post(app_path(kube_namespace), application("second", kube_namespace))
        seen += stream.until("APPLICATION_ADDED")
        crd_cluster.api.delete(app_path(kube_namespace, "second"))
        seen += stream.until("APPLICATION_REMOVED")
        for envelope in seen:
            contract.check(contract.component("StreamEvent"), envelope)
