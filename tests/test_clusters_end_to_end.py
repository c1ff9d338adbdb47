"""One process, two real kube-apiservers: one page for both clusters.

The second cluster is watched directly with a kubeconfig file. Its apiserver is killed (-9) and
started again: its apps stay on the page marked stale meanwhile, the first cluster's changes keep
flowing, and a deletion made while it was away is reported once it is back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application, install_crds
from tests.serving import Served
from tests.streaming import StreamReader
from tests.waiting import wait_until


def apps_by_name(base: str, query: str = "") -> dict[tuple[str, str], dict[str, Any]]:
    body = httpx.get(f"{base}/api/apps{query}", timeout=5).json()
    return {(a["cluster"], a["name"]): a for g in body["groups"] for a in g["applications"]}


def cluster_states(base: str) -> dict[str, str]:
    body = httpx.get(f"{base}/api/sources", timeout=5).json()
    return {c["name"]: c["state"] for c in body["clusters"]}


def two_cluster_config(tmp_path: Path, namespace: str, lab_kubeconfig: Path) -> Path:
    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        "startpunkt:\n"
        "  availability: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{namespace}]}}\n"
        "  watch: {backoff: {initial: 200ms, max: 1s}}\n"
        "  clusters:\n"
        "    local: {enabled: true, name: home}\n"
        "    kubeconfigs:\n"
        f"      - {{name: lab, kubeconfig: {lab_kubeconfig}}}\n"
    )
    return config


@pytest.mark.cluster
def test_two_clusters_on_one_page_survive_one_apiserver_going_away(
    crd_cluster: KubeCluster,
    kube_namespace: str,
    make_kube_cluster: Callable[..., KubeCluster],
    tmp_path: Path,
) -> None:
    lab = make_kube_cluster()
    install_crds(lab)
    lab.api.wait_for_crd("applications.startpunkt.ullberg.us")
    lab.api.create_namespace(kube_namespace)
    home = crd_cluster
    home.api.post(app_path(kube_namespace), application("alpha", kube_namespace))
    lab.api.post(app_path(kube_namespace), application("beta", kube_namespace))
    # the same namespace/name (and URL) in both clusters: two apps, one per cluster
    for cluster in (home, lab):
        cluster.api.post(app_path(kube_namespace), application("same", kube_namespace))

    config = two_cluster_config(tmp_path, kube_namespace, lab.write_kubeconfig(tmp_path / "lab"))
    args = ["--kubeconfig", str(home.write_kubeconfig(tmp_path / "home")), "--config", str(config)]
    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        wait_until(
            lambda: (
                set(apps_by_name(served.url))
                == {("home", "Alpha"), ("lab", "Beta"), ("home", "Same"), ("lab", "Same")}
            ),
            what="the apps of both clusters",
        )
        apps = apps_by_name(served.url)
        assert apps[("home", "Same")]["key"] != apps[("lab", "Same")]["key"]
        assert set(apps_by_name(served.url, "?cluster=lab")) == {("lab", "Beta"), ("lab", "Same")}

        with StreamReader(served.url + "/api/updates/stream") as stream:
            home.api.post(app_path(kube_namespace), application("gamma", kube_namespace))
            lab.api.post(app_path(kube_namespace), application("delta", kube_namespace))
            wait_until(
                lambda: (
                    stream.matching("APPLICATION_ADDED", name="Gamma", cluster="home")
                    and stream.matching("APPLICATION_ADDED", name="Delta", cluster="lab")
                ),
                what="a change in each cluster on the open stream",
            )

            lab.kill_apiserver()
            wait_until(
                lambda: cluster_states(served.url)["lab"] == "stale", what="the lab cluster stale"
            )
            wait_until(
                lambda: all(
                    a.get("stale") is True and a.get("lastContact")
                    for (cluster, _), a in apps_by_name(served.url).items()
                    if cluster == "lab"
                ),
                what="the lab cluster's apps marked stale",
            )
            assert stream.matching("APPLICATION_UPDATED", name="Beta", cluster="lab", stale=True)
            lab_apps = {name for cluster, name in apps_by_name(served.url) if cluster == "lab"}
            assert lab_apps == {"Beta", "Same", "Delta"}  # still on the page
            # the other cluster's changes keep flowing, and the process stays ready
            home.api.post(app_path(kube_namespace), application("epsilon", kube_namespace))
            wait_until(
                lambda: stream.matching("APPLICATION_ADDED", name="Epsilon", cluster="home"),
                what="the home cluster's change while lab is away",
            )
            assert "stale" not in apps_by_name(served.url)[("home", "Alpha")]
            assert httpx.get(served.url + "/readyz").status_code == 200

            # deleted behind the apiserver's back, while it is down (its data lives in etcd)
            lab._etcdctl(
                "del", f"/registry/startpunkt.ullberg.us/applications/{kube_namespace}/beta"
            )
            lab.start_apiserver()
            wait_until(
                lambda: cluster_states(served.url)["lab"] == "synced",
                timeout=60,
                what="the lab cluster back in sync",
            )
            wait_until(
                lambda: stream.matching("APPLICATION_REMOVED", name="Beta", cluster="lab"),
                what="the deletion made while lab was away",
            )
            apps = apps_by_name(served.url)
            assert ("lab", "Beta") not in apps
            assert not any(a.get("stale") for a in apps.values())
        metrics = httpx.get(served.url + "/metrics").text
        assert 'startpunkt_cluster_state{cluster="lab",kind="kubeconfig",state="synced"} 1.0' in (
            metrics
        )
    assert "Cluster lab is out of reach" in served.log()
