"""The whole process, as a user runs it: against the real kube-apiserver and on manifests."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until

EXAMPLES = Path(__file__).parents[1] / "examples"


def app_names(base: str, query: str = "") -> list[str]:
    body = httpx.get(f"{base}/api/apps{query}", timeout=5).json()
    return [a["name"] for g in body["groups"] for a in g["applications"]]


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "startpunkt.yaml"
    path.write_text(text)
    return path


def cluster_args(
    cluster: KubeCluster, namespace: str, tmp_path: Path, extra: str = ""
) -> list[str]:
    """`serve` arguments for watching one namespace of the test cluster, probes off."""
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    config = config_file(
        tmp_path,
        "startpunkt:\n  availability: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{namespace}]}}\n" + extra,
    )
    return ["--kubeconfig", str(kubeconfig), "--config", str(config)]


@pytest.mark.cluster
def test_cluster_mode_shows_the_guides_log_lines_from_start_to_shutdown(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("my-app", kube_namespace))
    served = Served(cluster_args(crd_cluster, kube_namespace, tmp_path), tmp_path / "log")
    with served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        assert app_names(served.url) == ["My-App"]
        crd_cluster.api.post(app_path(kube_namespace), application("second", kube_namespace))
        wait_until(lambda: "Second" in app_names(served.url), what="the watched app")
        # an open event stream must not hold up the shutdown
        stream_open = threading.Event()

        def hold_stream() -> None:
            with httpx.stream("GET", served.url + "/api/updates/stream", timeout=30) as response:
                stream_open.set()
                for _ in response.iter_lines():
                    pass

        threading.Thread(target=hold_stream, daemon=True).start()
        assert stream_open.wait(10)
        assert served.stop() == 0
    log = served.log()
    for line in (
        "Starting Kubernetes resource watchers",
        f"Starting watch for Startpunkt Application in namespace {kube_namespace}",
        "Successfully started watch for Startpunkt Application",
        "Kubernetes resource watchers",  # "Started N Kubernetes resource watchers"
        f"Startpunkt Application ADDED: {kube_namespace}/second",
        "Broadcasted event: APPLICATION_ADDED",
        "Stopping Kubernetes resource watchers",
        "Kubernetes resource watchers stopped",
    ):
        assert line in log, f"{line!r} missing from:\n{log}"
    assert "Started " in log
    assert served.exit_seconds is not None
    # the open stream ended with the hub, not by the server's graceful-shutdown deadline
    assert "timeout graceful shutdown exceeded" not in log


def test_manifests_mode_follows_file_edits(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    for path in EXAMPLES.rglob("*.yaml"):
        target = root / path.relative_to(EXAMPLES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    config = config_file(tmp_path, "startpunkt:\n  availability: {enabled: false}\n")
    with Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log") as served:
        names = app_names(served.url)
        assert len(names) >= 15
        assert "Grafana" in names

        extra = root / "extra.yaml"
        extra.write_text(
            "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
            "metadata: {name: newcomer, namespace: default}\n"
            "spec: {name: Newcomer, group: Tools, url: 'https://new.example'}\n"
        )
        wait_until(lambda: "Newcomer" in app_names(served.url), what="added file")

        broken = root / "broken.yaml"
        broken.write_text("apiVersion: v1: oops\n")
        grafana = next(root.rglob("monitoring.yaml"))
        grafana.write_text(grafana.read_text().replace("Grafana", "Grafana Cloud"))
        os.utime(grafana, ns=(time.time_ns() + 10**9,) * 2)
        wait_until(lambda: "Grafana Cloud" in app_names(served.url), what="edited file")
        assert len(app_names(served.url)) == len(names) + 1  # the broken file hid nothing

        extra.unlink()
        wait_until(lambda: "Newcomer" not in app_names(served.url), what="deleted file")
    assert "broken.yaml:1" in served.log()


@pytest.mark.cluster
def test_with_watching_off_reads_list_on_demand_behind_a_short_cache(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("listed", kube_namespace))
    args = cluster_args(
        crd_cluster, kube_namespace, tmp_path, "  watch: {enabled: false, cacheTtl: 500ms}\n"
    )
    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        assert app_names(served.url) == ["Listed"]
        crd_cluster.api.post(app_path(kube_namespace), application("later", kube_namespace))
        wait_until(lambda: "Later" in app_names(served.url), what="the next listing")
        sources = httpx.get(served.url + "/api/sources").json()
        assert sources["watching"] is False
    assert "Starting Kubernetes resource watchers" not in served.log()
    assert "?watch=" not in served.log()


@pytest.mark.cluster
def test_watch_health_is_exposed_as_json_and_prometheus_metrics(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("counted", kube_namespace))
    args = cluster_args(crd_cluster, kube_namespace, tmp_path)
    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        crd_cluster.api.post(app_path(kube_namespace), application("second", kube_namespace))
        wait_until(lambda: "Second" in app_names(served.url))
        sources = httpx.get(served.url + "/api/sources").json()
        apps = next(s for s in sources["sources"] if s["source"] == "startpunkt-application")
        assert apps["state"] == "synced"
        assert apps["namespace"] == kube_namespace
        assert apps["events"].get("ADDED") == 1
        # Istio and OpenShift are not installed in the test cluster
        routes = next(s for s in sources["sources"] if s["source"] == "route")
        assert routes["state"] == "absent"
        metrics = httpx.get(served.url + "/metrics").text
        assert (
            f'startpunkt_watch_state{{cluster="local",namespace="{kube_namespace}",'
            'source="startpunkt-application",state="synced"} 1.0'
        ) in metrics
        assert (
            f'startpunkt_watch_events_total{{cluster="local",namespace="{kube_namespace}",'
            'source="startpunkt-application",type="ADDED"} 1.0'
        ) in metrics


def stream_events(base: str, headers: dict[str, str], count: int) -> list[tuple[str, str]]:
    """The first `count` (type, id) pairs of a stream; heartbeats have no id. Messages are plain
    `data:` envelopes, named by their `type`."""
    seen: list[tuple[str, str]] = []
    with httpx.stream("GET", base + "/api/updates/stream", headers=headers, timeout=20) as r:
        event, id_ = "", ""
        for line in r.iter_lines():
            if line.startswith("data:"):
                event = json.loads(line.removeprefix("data:"))["type"]
            elif line.startswith("id:"):
                id_ = line.removeprefix("id:").strip()
            elif line == "" and event:
                seen.append((event, id_))
                event, id_ = "", ""
                if len(seen) == count:
                    return seen
    return seen


def test_a_page_resuming_against_a_restarted_process_is_told_to_resync(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    app = (
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        "metadata: {{name: {0}, namespace: default}}\n"
        "spec: {{name: {0}, group: Tools, url: 'https://{0}.example'}}\n"
    )
    (root / "a.yaml").write_text(app.format("first"))
    config = config_file(tmp_path, "startpunkt:\n  availability: {enabled: false}\n")
    args = ["--manifests", str(root), "--config", str(config)]
    with Served(args, tmp_path / "log1") as served:
        results: list[list[tuple[str, str]]] = []
        listener = threading.Thread(
            target=lambda: results.append(stream_events(served.url, {}, 2)), daemon=True
        )
        listener.start()
        wait_until(
            lambda: "startpunkt_stream_clients 1.0" in httpx.get(served.url + "/metrics").text,
            what="the open stream",
        )
        (root / "b.yaml").write_text(app.format("second"))
        listener.join(20)
    (heartbeat, _), (added, old_id) = results[0]
    assert (heartbeat, added) == ("HEARTBEAT", "APPLICATION_ADDED")

    with Served(args, tmp_path / "log2") as served:
        resumed = stream_events(served.url, {"Last-Event-ID": old_id}, 2)
    assert "RESYNC" in [event for event, _ in resumed]
    assert "APPLICATION_ADDED" not in [event for event, _ in resumed]
