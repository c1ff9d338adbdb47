"""Fixtures for checking deploy/ against the real kube-apiserver of tests/kubecluster.py."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.deploy.charting import Helm
from tests.deploy.rendering import CRDS, kubectl
from tests.kubecluster import KubeApi, KubeApiError, KubeCluster

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def startpunkt_crds(kube_cluster: KubeCluster) -> KubeCluster:
    """The cluster with deploy/crds applied, as `kubectl apply -f deploy/crds/` would; waits
    until every served version is in discovery."""
    for path in sorted(CRDS.glob("*.yaml")):
        kube_cluster.api.apply_yaml(path)
    return kube_cluster


@pytest.fixture(scope="session")
def admin_kubectl(kube_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """Runs kubectl as the cluster's admin: `admin_kubectl("get", "ns", input=...)`."""
    config = kube_cluster.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "kubeconfig")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl(), f"--kubeconfig={config}", "--request-timeout=60s", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The real helm, with a home of its own, for rendering (no cluster)."""
    return Helm(tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def cluster_helm(kube_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The real helm, talking to the session's kube-apiserver as its admin."""
    home = tmp_path_factory.mktemp("helm-cluster-home")
    return Helm(home, kubeconfig=kube_cluster.write_kubeconfig(home / "kubeconfig"))


def ensure_namespace(api: KubeApi, name: str) -> None:
    """Creates the namespace unless it exists; an existing one is left as it is."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        api.post("/api/v1/namespaces", body)
    except KubeApiError as e:
        if e.status_code != 409:
            raise
