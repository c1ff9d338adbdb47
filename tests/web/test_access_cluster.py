"""Against the real kube-apiserver: an Application's `spec.groups` edited with the API moves it
between audiences in the REST view of a running Startpunkt, per identity."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until
from tests.web.accessdata import IDENTITIES

CONFIG = """startpunkt:
  availability: {enabled: false}
  namespaceSelector: {any: false, matchNames: [NAMESPACE]}
  access:
    proxy: {preset: oauth2-proxy, trustedProxies: [127.0.0.1]}
    admins: [admins]
"""


def names(url: str, who: str) -> set[str]:
    body = httpx.get(url + "/api/apps", headers=IDENTITIES[who], timeout=5).json()
    return {a["name"] for g in body["groups"] for a in g["applications"]}


def views(url: str) -> dict[str, set[str]]:
    return {who: names(url, who) for who in IDENTITIES}


@pytest.mark.cluster
def test_editing_an_applications_groups_changes_who_sees_it(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    api = crd_cluster.api
    api.post(app_path(kube_namespace), application("shared", kube_namespace, groups=["family"]))
    api.post(app_path(kube_namespace), application("open", kube_namespace))
    config = tmp_path / "startpunkt.yaml"
    config.write_text(CONFIG.replace("NAMESPACE", kube_namespace))
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200, what="ready")
        # the apiserver kept the field (it is in the CRD schema, so not pruned)
        stored = api.get(app_path(kube_namespace, "shared"))
        assert stored["spec"]["groups"] == ["family"]

        def expect(shared_for: set[str]) -> None:
            wanted = {
                who: {"Open"} | ({"Shared"} if who in shared_for else set()) for who in IDENTITIES
            }
            wait_until(lambda: views(served.url) == wanted, what=f"Shared for {shared_for}")

        expect({"A", "admin"})
        api.patch(app_path(kube_namespace, "shared"), {"spec": {"groups": ["work"]}})
        expect({"B", "admin"})
        api.patch(app_path(kube_namespace, "shared"), {"spec": {"groups": ["family", "work"]}})
        expect({"A", "B", "admin"})
        api.patch(app_path(kube_namespace, "shared"), {"spec": {"groups": None}})
        expect(set(IDENTITIES))
        api.patch(app_path(kube_namespace, "shared"), {"spec": {"groups": ["admins"]}})
        expect({"admin"})
