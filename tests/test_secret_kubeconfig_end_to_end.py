"""A cluster whose kubeconfig is held in a Secret of the local cluster: read with no more than
get and watch on that one Secret, and followed, so a rotated credential is used without a
restart. (The Secret's kubeconfig points at the same apiserver, as another user: the cluster
named `lab` is the same objects seen with other credentials.)"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until

SECRET = "lab-kubeconfig"


def rbac(namespace: str, name: str, rules: list[dict[str, Any]], subject: dict[str, str]) -> list:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name, "namespace": namespace},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [subject],
        },
    ]


READ_APPS = [
    {
        "apiGroups": ["startpunkt.ullberg.us"],
        "resources": ["applications", "bookmarks"],
        "verbs": ["get", "list", "watch"],
    }
]


def user(name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


def secret(namespace: str, kubeconfig: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": namespace},
        "data": {"kubeconfig": base64.b64encode(kubeconfig.encode()).decode()},
    }


def lab_state(base: str) -> dict[str, Any]:
    clusters = httpx.get(f"{base}/api/sources", timeout=5).json()["clusters"]
    return dict(next(c for c in clusters if c["name"] == "lab"))


def names(base: str) -> set[tuple[str, str]]:
    body = httpx.get(f"{base}/api/apps", timeout=5).json()
    return {(a["cluster"], a["name"]) for g in body["groups"] for a in g["applications"]}


@pytest.mark.cluster
def test_a_rotated_secret_kubeconfig_is_used_without_a_restart(
    crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    api, ns = crd_cluster.api, kube_namespace
    api.apply(rbac(ns, "apps-reader", READ_APPS, user("bob")))
    api.apply(rbac(ns, "lab-apps-reader", READ_APPS, user("alice")))
    # all Startpunkt (bob) may do with Secrets: get and watch the one that holds the kubeconfig
    secret_rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch"]}
    api.apply(
        rbac(ns, "kubeconfig-secret", [{**secret_rule, "resourceNames": [SECRET]}], user("bob"))
    )
    alice = crd_cluster.write_kubeconfig(tmp_path / "alice", user="alice").read_text()
    api.post(f"/api/v1/namespaces/{ns}/secrets", secret(ns, alice))
    api.post(app_path(ns), application("alpha", ns))

    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        "startpunkt:\n"
        "  availability: {enabled: false}\n  status: {enabled: false}\n"
        "  leaderElection: {enabled: false}\n"
        "  ingress: {enabled: false}\n  openshift: {enabled: false}\n"
        "  hajimari: {enabled: false}\n  istio: {virtualservice: {enabled: false}}\n"
        "  gatewayapi: {httproute: {enabled: false}}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{ns}]}}\n"
        # a source refused for long is retried every forbiddenRetry
        "  watch: {forbiddenRetry: 1s, backoff: {initial: 100ms, max: 500ms}}\n"
        "  clusters:\n"
        "    local: {name: home}\n"
        f"    kubeconfigs: [{{name: lab, secret: {{namespace: {ns}, name: {SECRET}}}}}]\n"
    )
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "bob", user="bob")
    with Served(["--kubeconfig", str(kubeconfig), "--config", str(config)], tmp_path / "log") as s:
        wait_until(
            lambda: names(s.url) == {("home", "Alpha"), ("lab", "Alpha")},
            what="the app seen through both clusters",
        )

        # rotated to a service account that may read nothing yet: the new credential is in use
        api.post(f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "reader"}})
        token = api.request_token(ns, "reader")
        reader = crd_cluster.write_kubeconfig(tmp_path / "reader", user="reader", token=token)
        api.apply(secret(ns, reader.read_text()))
        wait_until(
            lambda: "403" in str(lab_state(s.url).get("error")),
            what="the lab cluster refused to the rotated credential",
        )
        assert lab_state(s.url)["state"] == "stale"  # its items stay, marked
        body = httpx.get(f"{s.url}/api/apps?cluster=lab", timeout=5).json()
        assert body["groups"][0]["applications"][0]["stale"] is True

        # once the service account may read, the lab cluster recovers, still without a restart
        sa = {"kind": "ServiceAccount", "name": "reader", "namespace": ns}
        api.apply(rbac(ns, "reader-apps", READ_APPS, sa))
        api.post(app_path(ns), application("bravo", ns))
        wait_until(
            lambda: ("lab", "Bravo") in names(s.url) and lab_state(s.url)["state"] == "synced",
            timeout=30,
            what="the lab cluster read with the rotated credential",
        )
    log = s.log()
    assert "The kubeconfig of cluster lab changed; reconnecting" in log
    assert alice.split("token: ")[1].split()[0] not in log  # credentials are never logged
