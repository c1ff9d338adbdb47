"""The test harness itself: a real kube-apiserver v1.20.2 that tests can drive and break."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.kubecluster import KubeApiError, KubeCluster, kube_apiserver_binary
from tests.kubeobjects import app_path, application

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def widget(namespace: str, name: str, size: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size},
    }


def widgets_path(namespace: str) -> str:
    return f"/apis/example.com/v1/namespaces/{namespace}/widgets"


def watch_events(
    cluster: KubeCluster,
    path: str,
    params: dict[str, str],
    until: Callable[[dict[str, Any]], bool],
    on_open: Callable[[], object] = lambda: None,
) -> Iterator[dict[str, Any]]:
    """Yield watch events until `until(event)` holds or the server ends the stream.

    `on_open` runs once the response headers have arrived, i.e. the watch is established.
    """
    with (
        cluster.http_client(timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", path, params={"watch": "1", **params}) as response,
    ):
        response.raise_for_status()
        on_open()
        for line in response.iter_lines():
            event = json.loads(line)
            yield event
            if until(event):
                return


@pytest.fixture
def widgets(kube_cluster: KubeCluster) -> KubeCluster:
    kube_cluster.api.apply_yaml(WIDGET_CRD)
    return kube_cluster


def test_cluster_serves_version_1_20_2_through_a_written_kubeconfig(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    config = yaml.safe_load(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig").read_text())
    server = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    with httpx.Client(
        verify=kube_cluster.ssl_context(), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        assert Path(server["certificate-authority"]) == kube_cluster.ca_file
        version = client.get(f"{server['server']}/version").raise_for_status().json()
    assert version["gitVersion"] == "v1.20.2"


def test_crd_from_yaml_becomes_established_and_serves_objects(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    crd_file = tmp_path / "crd.yaml"
    crd_file.write_text(WIDGET_CRD)
    kube_cluster.api.apply_yaml(crd_file, wait=False)
    crd = kube_cluster.api.wait_for_crd("widgets.example.com")
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"

    kube_cluster.api.apply_yaml(
        yaml.safe_dump_all([widget(kube_namespace, "w1", 1), widget(kube_namespace, "w2", 2)])
    )
    kube_cluster.api.apply(widget(kube_namespace, "w2", 3))  # an existing object is replaced

    items = kube_cluster.api.get(widgets_path(kube_namespace))["items"]
    assert {w["metadata"]["name"]: w["spec"]["size"] for w in items} == {"w1": 1, "w2": 3}


def test_watch_with_bookmarks_sees_added_then_a_bookmark(
    widgets: KubeCluster, kube_namespace: str
) -> None:
    path = widgets_path(kube_namespace)
    list_rv = widgets.api.get(path)["metadata"]["resourceVersion"]
    params = {"resourceVersion": list_rv, "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
    events = list(
        watch_events(
            widgets,
            path,
            params,
            until=lambda e: e["type"] == "BOOKMARK",
            on_open=lambda: widgets.api.apply(widget(kube_namespace, "w1")),
        )
    )
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "w1"),
        ("BOOKMARK", None),
    ]


def test_watch_from_compacted_revision_gets_410(kube_cluster_nocache: KubeCluster) -> None:
    cluster = kube_cluster_nocache
    cluster.api.create_namespace("compaction")
    cluster.api.apply_yaml(WIDGET_CRD)
    path = widgets_path("compaction")
    created = cluster.api.apply(widget("compaction", "w1"))[0]
    old_rv = created["metadata"]["resourceVersion"]
    for size in (2, 3):  # etcd watches from old_rv + 1, which must be compacted too
        cluster.api.patch(f"{path}/w1", {"spec": {"size": size}})
    assert cluster.compact_etcd() > int(old_rv) + 1

    events = list(watch_events(cluster, path, {"resourceVersion": old_rv}, until=lambda e: True))
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410


def test_short_watch_cluster_ends_watches_within_seconds(
    kube_cluster_short_watch: KubeCluster,
) -> None:
    # `until` never stops the loop: it ends only because the server closes the watch
    events = list(
        watch_events(kube_cluster_short_watch, "/api/v1/namespaces", {}, until=lambda e: False)
    )
    assert {e["type"] for e in events} == {"ADDED"}  # the initial state, then the server closes


def test_static_users_have_no_rights_until_granted_by_rbac(
    widgets: KubeCluster, kube_namespace: str
) -> None:
    path = widgets_path(kube_namespace)
    with (
        widgets.http_client(user="alice") as alice,
        widgets.http_client(user="bob") as bob,
    ):
        assert alice.get(path).status_code == 403
        widgets.api.apply(
            [
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "widget-reader", "namespace": kube_namespace},
                    "rules": [
                        {
                            "apiGroups": ["example.com"],
                            "resources": ["widgets"],
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "alice-reads-widgets", "namespace": kube_namespace},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "widget-reader",
                    },
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
                    ],
                },
            ]
        )
        assert alice.get(path).status_code == 200
        assert bob.get(path).status_code == 403


def test_request_token_authenticates_as_the_service_account(
    kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    kube_cluster.api.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "startpunkt", "namespace": kube_namespace},
        }
    )
    token = kube_cluster.api.request_token(kube_namespace, "startpunkt")

    with kube_cluster.http_client(token=token) as client:
        denied = client.get(f"/api/v1/namespaces/{kube_namespace}/pods")
    assert denied.status_code == 403
    assert f"system:serviceaccount:{kube_namespace}:startpunkt" in denied.json()["message"]


def test_admin_client_raises_with_the_response_body(kube_cluster: KubeCluster) -> None:
    with pytest.raises(KubeApiError, match="NotFound") as raised:
        kube_cluster.api.get("/api/v1/namespaces/does-not-exist")
    assert raised.value.status_code == 404
    assert raised.value.reason == "NotFound"


def test_killed_apiserver_restarts_on_the_same_port_with_its_data(
    make_kube_cluster: Callable[..., KubeCluster],
) -> None:
    cluster = make_kube_cluster()
    cluster.api.create_namespace("survivor")
    server = cluster.server

    cluster.kill_apiserver()
    with cluster.http_client() as client, pytest.raises(httpx.ConnectError):
        client.get("/version")

    cluster.start_apiserver()
    assert cluster.server == server
    assert cluster.api.get("/api/v1/namespaces/survivor")["metadata"]["name"] == "survivor"


def test_missing_binary_names_the_build_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STARTPUNKT_KUBE_APISERVER", str(tmp_path / "nowhere"))
    with pytest.raises(Exception, match=r"scripts/build-kube-apiserver\.sh"):
        kube_apiserver_binary()


def test_empty_strings_in_custom_resources_stay_empty_strings(
    crd_cluster: KubeCluster, kube_namespace: str
) -> None:
    """The build script patches a validator that, under Go 1.19, took "" for null."""
    created = crd_cluster.api.post(
        app_path(kube_namespace), application("blank", kube_namespace, info="")
    )
    assert created["spec"]["info"] == ""
