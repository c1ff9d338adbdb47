"""A service account that may not read one kind: that source is reported as forbidden, and the
rest of the page is served and ready (against the real kube-apiserver and RBAC)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.test_serve_end_to_end import app_names, config_file
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster


def grant_startpunkt_kinds_only(cluster: KubeCluster, namespace: str, user: str) -> None:
    """Applications and Bookmarks, but not Ingresses."""
    name = f"{user}-startpunkt-only"
    cluster.api.apply(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": [
                    {
                        "apiGroups": ["startpunkt.ullberg.us"],
                        "resources": ["applications", "bookmarks"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                ],
            },
        ]
    )


def test_a_forbidden_source_does_not_hold_readiness(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    grant_startpunkt_kinds_only(crd_cluster, kube_namespace, "bob")
    crd_cluster.api.post(app_path(kube_namespace), application("visible", kube_namespace))
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig", user="bob")
    config = config_file(
        tmp_path,
        "startpunkt:\n  availability: {enabled: false}\n  status: {enabled: false}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{kube_namespace}]}}\n"
        "  watch: {forbiddenRetry: 1h, backoff: {initial: 100ms, max: 500ms}}\n",
    )
    args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
    with Served(args, tmp_path / "log") as served:
        wait_until(
            lambda: httpx.get(served.url + "/readyz", timeout=5).status_code == 200,
            what="readiness",
        )
        assert app_names(served.url) == ["Visible"]
        sources = httpx.get(served.url + "/api/sources", timeout=5).json()["sources"]
        ingress = next(s for s in sources if s["source"] == "ingress")
        assert ingress["state"] == "forbidden"
        metrics = httpx.get(served.url + "/metrics", timeout=5).text
        assert (
            f'startpunkt_watch_state{{cluster="local",namespace="{kube_namespace}",'
            'source="ingress",state="forbidden"} 1.0'
        ) in metrics
    assert "Forbidden: cannot list ingresses.networking.k8s.io" in served.log()
