"""`spec.urlFrom` stays in the Application's namespace unless the operator allows others: whoever
may create an Application in one namespace must not publish what Startpunkt can read in another
(against the real kube-apiserver, with a real `startpunkt serve`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path
from tests.serving import Served
from tests.test_reloading import rewrite
from tests.test_serve_end_to_end import cluster_args
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster


def app(name: str, namespace: str, url_from: dict[str, Any], url: str | None = None) -> Any:
    spec: dict[str, Any] = {"name": name.title(), "group": "Tests", "urlFrom": url_from}
    if url:
        spec["url"] = url
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def urls(base: str) -> dict[str, str | None]:
    body = httpx.get(f"{base}/api/apps", timeout=5).json()
    return {a["name"]: a.get("url") for g in body["groups"] for a in g["applications"]}


def diagnostics(base: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{base}/api/diagnostics", timeout=5).json()
    return {o["name"]: o for o in body["objects"]}


def shown_condition(cluster: KubeCluster, namespace: str, name: str) -> dict[str, Any] | None:
    status = cluster.api.get(app_path(namespace, name)).get("status") or {}
    return next((c for c in status.get("conditions") or () if c["type"] == "Shown"), None)


def test_a_reference_into_another_namespace_is_refused_until_the_operator_allows_it(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    tenant, other = kube_namespace, f"secret-{secrets.token_hex(4)}"
    crd_cluster.api.create_namespace(other)
    api = crd_cluster.api
    api.post(f"/api/v1/namespaces/{other}/configmaps", configmap("db", other, {"pw": "hunter2"}))
    api.post(f"/api/v1/namespaces/{tenant}/configmaps", configmap("urls", tenant, {"wiki": "w"}))
    leak = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "namespace": other,
        "name": "db",
        "property": "data.pw",
        "urlTemplate": "https://leak.example/{0}",
    }
    own = {"apiVersion": "v1", "kind": "ConfigMap", "name": "urls", "property": "data.wiki"}
    cluster_scoped = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "name": other,
        "property": "metadata.name",
        "urlTemplate": "https://{0}.example",
    }
    api.post(app_path(tenant), app("leak", tenant, leak))
    fallback = {**leak, "urlTemplate": "https://fallback.example/{0}"}
    api.post(app_path(tenant), app("fallback", tenant, fallback, url="https://fallback.example"))
    api.post(app_path(tenant), app("scoped", tenant, cluster_scoped, url="https://ns.example"))
    api.post(app_path(tenant), app("own", tenant, {**own, "urlTemplate": "https://{0}.example"}))

    args = cluster_args(crd_cluster, tenant, tmp_path)
    with Served(args, tmp_path / "log") as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200)
        wait_until(lambda: urls(served.url).get("Own") == "https://w.example", what="own ns")
        assert urls(served.url) == {
            "Fallback": "https://fallback.example",
            "Own": "https://w.example",
            "Scoped": "https://ns.example",
        }
        for path in ("/api/apps", "/api/diagnostics", "/"):
            assert "hunter2" not in httpx.get(served.url + path, timeout=5).text

        found = diagnostics(served.url)
        refusal = f"refers to namespace {other}; an Application may read objects in its own"
        assert found["leak"]["verdict"] == "hidden"
        assert refusal in found["leak"]["reason"]
        assert any(refusal in note for note in found["fallback"]["notes"])
        assert any("a cluster-scoped object" in note for note in found["scoped"]["notes"])
        # refused references are not even watched
        sources = httpx.get(served.url + "/api/sources", timeout=5).json()["sources"]
        assert not [s for s in sources if s["namespace"] == other]

        # kubectl describe shows the refusal too
        wait_until(
            lambda: (
                refusal in (shown_condition(crd_cluster, tenant, "leak") or {}).get("message", "")
            ),
            what="the refusal in .status",
        )
        condition = shown_condition(crd_cluster, tenant, "leak")
        assert condition is not None
        assert condition["status"] == "False"
        wait_until(
            lambda: (
                refusal
                in (shown_condition(crd_cluster, tenant, "fallback") or {}).get("message", "")
            ),
            what="the note in .status",
        )

        # the operator allows the other namespace: the same Applications now resolve
        config = tmp_path / "startpunkt.yaml"
        rewrite(config, config.read_text() + f"  urlFrom: {{allowedNamespaces: [{other}]}}\n")
        wait_until(
            lambda: urls(served.url).get("Leak") == "https://leak.example/hunter2",
            what="the allowed reference",
        )
        assert urls(served.url)["Fallback"] == "https://fallback.example/hunter2"
        # cluster-scoped objects need "*"
        assert urls(served.url)["Scoped"] == "https://ns.example"
