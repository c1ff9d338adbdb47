"""Two processes: the second follows the first as a remote Startpunkt, over a link that is cut
and restored. Nothing is lost: the follower resumes with Last-Event-ID."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.streaming import StreamReader
from tests.tcpproxy import TcpProxy
from tests.waiting import wait_until


def apps(base: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{base}/api/apps", timeout=5).json()
    return {a["name"]: a for g in body["groups"] for a in g["applications"]}


def cluster_state(base: str, name: str) -> str:
    clusters = httpx.get(f"{base}/api/sources", timeout=5).json()["clusters"]
    return str(next(c["state"] for c in clusters if c["name"] == name))


@pytest.mark.cluster
def test_a_followed_instance_reaches_the_followers_clients_and_resumes_without_loss(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("alpha", kube_namespace))
    first_config = tmp_path / "first.yaml"
    first_config.write_text(
        "startpunkt:\n  availability: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{kube_namespace}]}}\n"
    )
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    first = Served(
        ["--kubeconfig", str(kubeconfig), "--config", str(first_config)], tmp_path / "first.log"
    )
    with first, TcpProxy(first.port) as link:
        second_config = tmp_path / "second.yaml"
        second_config.write_text(
            "startpunkt:\n  availability: {enabled: false}\n"
            "  watch: {backoff: {initial: 100ms, max: 500ms}}\n"
            "  clusters:\n"
            "    local: {enabled: false}\n"
            f"    remote: [{{name: office, url: '{link.url}'}}]\n"
        )
        # no cluster of its own, and no credentials for the first one's
        no_cluster = {"KUBECONFIG": "", "HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": ""}
        args = ["--config", str(second_config)]
        with Served(args, tmp_path / "second.log", env=no_cluster) as second:
            wait_until(lambda: "Alpha" in apps(second.url), what="the followed instance's app")
            wait_until(lambda: httpx.get(second.url + "/readyz").status_code == 200)
            assert apps(second.url)["Alpha"]["cluster"] == "office"
            with (
                StreamReader(first.url + "/api/updates/stream") as at_first,
                StreamReader(second.url + "/api/updates/stream") as stream,
            ):
                crd_cluster.api.post(app_path(kube_namespace), application("bravo", kube_namespace))
                wait_until(
                    lambda: stream.matching("APPLICATION_ADDED", name="Bravo", cluster="office"),
                    what="a change in the first instance's cluster at the second's client",
                )
                bravo_id = int(at_first.matching("APPLICATION_ADDED", name="Bravo")[0].id or 0)
                streams_before = len(stream_requests(link))

                link.cut()
                wait_until(lambda: cluster_state(second.url, "office") == "stale")
                assert apps(second.url)["Bravo"]["stale"] is True
                crd_cluster.api.post(
                    app_path(kube_namespace), application("charlie", kube_namespace)
                )
                crd_cluster.api.delete(app_path(kube_namespace, "alpha"))
                wait_until(lambda: set(apps(first.url)) == {"Bravo", "Charlie"})
                link.restore()

                wait_until(
                    lambda: (
                        stream.matching("APPLICATION_ADDED", name="Charlie", cluster="office")
                        and stream.matching("APPLICATION_REMOVED", name="Alpha", cluster="office")
                    ),
                    what="the changes made while the link was cut",
                )
                wait_until(lambda: cluster_state(second.url, "office") == "synced")
                assert set(apps(second.url)) == {"Bravo", "Charlie"}
                assert not any(a.get("stale") for a in apps(second.url).values())
            resumed = stream_requests(link)[streams_before:]
            assert resumed, "the follower did not open the stream again"
            # resumed from where it stopped (after Bravo), not from a new snapshot
            assert resumed[0] >= bravo_id > 0
    assert "asked for a resync" not in second.log()
    assert "No local cluster: showing the configured other clusters only" in second.log()


def stream_requests(link: TcpProxy) -> list[int]:
    """The Last-Event-ID of each stream request that went through the link."""
    heads = b"".join(link.requests).decode(errors="replace")
    found = re.findall(
        r"GET /api/updates/stream[^\r\n]*\r\n(?:[^\r\n]+\r\n)*?last-event-id: (\d+)",
        heads,
        flags=re.IGNORECASE,
    )
    return [int(n) for n in found]
