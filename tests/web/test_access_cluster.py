"""Against the real kube-apiserver: an Application's `spec.groups` edited with the API moves it
between audiences in the REST view of a running Startpunkt, per identity."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until
from tests.web.accessdata import IDENTITIES
from tests.web.conftest import EventReader

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


@pytest.mark.cluster
async def test_four_open_streams_follow_an_applications_groups_edited_on_the_apiserver(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    api = crd_cluster.api
    api.post(app_path(kube_namespace), application("shared", kube_namespace, groups=["family"]))
    config = tmp_path / "startpunkt.yaml"
    config.write_text(CONFIG.replace("NAMESPACE", kube_namespace))
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
    marks = iter(range(1, 100))

    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200, what="ready")
        timeout = httpx.Timeout(10.0, read=None)
        async with (
            httpx.AsyncClient(base_url=served.url, timeout=timeout) as client,
            contextlib.AsyncExitStack() as stack,
        ):
            readers: dict[str, EventReader] = {}
            for who, headers in IDENTITIES.items():
                response = await stack.enter_async_context(
                    client.stream("GET", "/api/updates/stream", headers=headers)
                )
                assert response.status_code == 200
                readers[who] = EventReader(response)
                stack.push_async_callback(readers[who].close)

            async def edit(groups: list[str] | None) -> dict[str, list[str]]:
                """Patches the groups, then adds a public marker app; each stream's events for
                Shared up to the marker."""
                api.patch(app_path(kube_namespace, "shared"), {"spec": {"groups": groups}})
                marker = f"marker{next(marks)}"
                api.post(app_path(kube_namespace), application(marker, kube_namespace))
                seen = {}
                for who, reader in readers.items():
                    events = await reader.changes_until(lambda e, m=marker: m in e.data, 20)
                    seen[who] = [e.event for e in events if "Shared" in e.data]
                return seen

            assert await edit(["work"]) == {
                "anonymous": [],
                "A": ["APPLICATION_REMOVED"],
                "B": ["APPLICATION_ADDED"],
                "admin": ["APPLICATION_UPDATED"],
            }
            assert await edit(None) == {
                "anonymous": ["APPLICATION_ADDED"],
                "A": ["APPLICATION_ADDED"],
                "B": ["APPLICATION_UPDATED"],
                "admin": ["APPLICATION_UPDATED"],
            }
            assert await edit(["admins"]) == {
                "anonymous": ["APPLICATION_REMOVED"],
                "A": ["APPLICATION_REMOVED"],
                "B": ["APPLICATION_REMOVED"],
                "admin": ["APPLICATION_UPDATED"],
            }
