"""Startpunkt run with exactly the RBAC the overlays grant: it syncs every enabled source and
is refused everything else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.deploy.rendering import DEPLOY, of_kind, one, render, settings_of
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application, install_crds
from tests.serving import Served
from tests.waiting import wait_until

FOREIGN_CRDS = Path(__file__).parents[1] / "data" / "foreign-crds" / "crds.yaml"
RBAC_KINDS = (
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
)


def install_overlay_rbac(cluster: KubeCluster, overlay: str) -> tuple[Path, list[str]]:
    """Applies the overlay's identity and RBAC; returns its configuration and namespaces."""
    objects = render(DEPLOY / "overlays" / overlay)
    settings = settings_of(objects)
    watched = list(settings.namespace_selector.match_names) or ["apps"]
    for namespace in {"startpunkt", "elsewhere", *watched}:
        cluster.api.create_namespace(namespace)
    cluster.api.apply(of_kind(objects, *RBAC_KINDS))
    config = one(objects, "ConfigMap")["data"]["startpunkt.yaml"]
    path = cluster.workdir / f"{overlay}.yaml"
    path.write_text(config)
    return path, watched


@pytest.mark.cluster
@pytest.mark.parametrize("overlay", ["cluster-wide", "namespaced"])
def test_the_overlays_rbac_is_enough_and_no_more(
    overlay: str, make_kube_cluster, tmp_path: Path
) -> None:
    cluster = make_kube_cluster()
    install_crds(cluster)
    cluster.api.apply_yaml(FOREIGN_CRDS)  # every source's API exists, so every one must sync
    config, watched = install_overlay_rbac(cluster, overlay)
    token = cluster.api.request_token("startpunkt", "startpunkt")
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", token=token)
    cluster.api.post(app_path(watched[0]), application("visible", watched[0]))

    args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
    # as the Deployment sets them (the downward API): the Lease is in Startpunkt's namespace
    env = {"STARTPUNKT_AVAILABILITY_ENABLED": "false", "POD_NAMESPACE": "startpunkt"}
    with Served(args, tmp_path / "log", env=env) as s:
        wait_until(lambda: httpx.get(s.url + "/readyz").status_code == 200, what="readiness")
        sources = httpx.get(s.url + "/api/sources").json()["sources"]
        assert sources, "no reflectors ran"
        not_synced = [
            (x["source"], x["namespace"], x["state"]) for x in sources if x["state"] != "synced"
        ]
        assert not_synced == []
        names = [
            a["name"]
            for g in httpx.get(s.url + "/api/apps").json()["groups"]
            for a in g["applications"]
        ]
        assert names == ["Visible"]
        cluster.api.post(app_path(watched[0]), application("watched", watched[0]))
        wait_until(lambda: "Watched" in httpx.get(s.url + "/api/apps").text, what="a watch")
    assert "Forbidden" not in s.log()

    # and the same token is refused what Startpunkt never needs
    with cluster.http_client(token=token) as client:
        assert client.get("/api/v1/secrets").status_code == 403
        assert client.get("/api/v1/nodes").status_code == 403
        assert (
            client.post(app_path(watched[0]), json=application("x", watched[0])).status_code == 403
        )
        if overlay == "namespaced":
            assert client.get(app_path("elsewhere")).status_code == 403
            assert (
                client.get("/apis/startpunkt.ullberg.us/v1alpha4/applications").status_code == 403
            )
