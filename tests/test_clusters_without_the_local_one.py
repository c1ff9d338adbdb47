"""`clusters.local.enabled: false`: the connection only reads what other clusters need; the page
shows the other clusters, and is ready once one of them is."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until


@pytest.mark.cluster
def test_with_the_local_cluster_off_only_the_other_clusters_are_shown(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("alpha", kube_namespace))
    lab = crd_cluster.write_kubeconfig(tmp_path / "lab")
    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        "startpunkt:\n  availability: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{kube_namespace}]}}\n"
        "  clusters:\n"
        "    local: {enabled: false}\n"
        f"    kubeconfigs: [{{name: lab, kubeconfig: {lab}}}]\n"
    )
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    with Served(["--kubeconfig", str(kubeconfig), "--config", str(config)], tmp_path / "log") as s:
        wait_until(lambda: httpx.get(s.url + "/readyz").status_code == 200)
        body = httpx.get(s.url + "/api/apps").json()
        apps = [(a["cluster"], a["name"]) for g in body["groups"] for a in g["applications"]]
        assert apps == [("lab", "Alpha")]
        clusters = httpx.get(s.url + "/api/sources").json()["clusters"]
        assert [c["name"] for c in clusters] == ["lab"]
    assert "clusters.local.enabled is false" in s.log()
    assert "Starting Kubernetes resource watchers of cluster lab" in s.log()
