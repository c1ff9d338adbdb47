"""Startpunkt objects for tests against the real kube-apiserver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.kubecluster import KubeCluster

CRDS = Path(__file__).parents[1] / "deploy" / "crds"


def install_crds(cluster: KubeCluster) -> None:
    """The project's own CRDs, as a user installs them."""
    for path in sorted(CRDS.glob("*.yaml")):
        if "kustomization" not in path.name.lower():
            cluster.api.apply_yaml(path)


def application(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"name": name.title(), "group": "Tests", "url": f"https://{name}.example", **spec},
    }


def app_path(namespace: str, name: str = "") -> str:
    base = f"/apis/startpunkt.ullberg.us/v1alpha4/namespaces/{namespace}/applications"
    return f"{base}/{name}" if name else base
