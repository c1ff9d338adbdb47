"""The Helm chart on a real kube-apiserver (1.20): each rendering passes server-side validation,
and `helm install`, `helm upgrade` and `helm uninstall` work, leaving the objects as rendered and
the ServiceAccount with exactly the access Startpunkt needs. There is no kubelet, so no pod runs.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import yaml

from tests.deploy.charting import CHART, VALUE_SETS, Helm
from tests.deploy.conftest import Kubectl, ensure_namespace
from tests.deploy.grants import (
    DEFAULT_LEASE,
    Reviewer,
    access_problems,
    lease_access_problems,
    source_reader_problems,
    wait_for_authorizer,
)
from tests.deploy.rendering import GROUP, Obj, needed, one, settings_of
from tests.kubecluster import KubeApiError, KubeCluster

pytestmark = pytest.mark.cluster

#: kinds whose API a 1.20 cluster without add-ons does not serve (OpenShift, Gateway API and the
#: Prometheus Operator bring them)
NOT_SERVED = {"Route", "HTTPRoute", "ServiceMonitor"}
KUBE_VERSION = "1.20.2"  # the test apiserver's


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_rendering_passes_server_side_dry_run(
    startpunkt_crds: KubeCluster, admin_kubectl: Kubectl, helm: Helm, value_set: str
) -> None:
    objs = helm.template(VALUE_SETS[value_set], "--kube-version", KUBE_VERSION)
    served = [o for o in objs if o["kind"] not in NOT_SERVED]
    left_out = {o["kind"] for o in objs} - {o["kind"] for o in served}
    assert left_out == (NOT_SERVED if value_set == "every-optional-on" else set())
    # a dry run creates nothing, so the namespaces the objects go into must exist already
    for namespace in {o["metadata"].get("namespace") for o in served} - {None}:
        ensure_namespace(startpunkt_crds.api, namespace)
    result = admin_kubectl(
        "apply",
        "--server-side",
        "--field-manager=startpunkt-chart-tests",
        "--dry-run=server",
        "-f",
        "-",
        input=yaml.safe_dump_all(served),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(served)
    assert all(line.endswith("(server dry run)") for line in lines)


# -- install, upgrade, uninstall ----------------------------------------------------------------


def contains(live: Any, rendered: Any) -> bool:
    """Whether the live object holds everything rendered (the apiserver adds defaults)."""
    if isinstance(rendered, dict):
        return isinstance(live, dict) and all(
            k in live and contains(live[k], v) for k, v in rendered.items()
        )
    if isinstance(rendered, list):
        return (
            isinstance(live, list)
            and len(live) == len(rendered)
            and all(contains(a, b) for a, b in zip(live, rendered, strict=True))
        )
    return bool(live == rendered)


def live(cluster: KubeCluster, obj: Obj) -> Obj | None:
    """The object as the apiserver has it; None if it does not exist."""
    meta = obj["metadata"]
    path = cluster.api.resource_path(
        obj["apiVersion"], obj["kind"], namespace=meta.get("namespace"), name=meta["name"]
    )
    try:
        return cluster.api.get(path)
    except KubeApiError as e:
        if e.status_code == 404:
            return None
        raise


def manifest(cluster_helm: Helm, release: str, namespace: str) -> list[Obj]:
    result = cluster_helm.run("get", "manifest", release, "-n", namespace)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def differences(cluster: KubeCluster, objs: list[Obj]) -> list[str]:
    problems = []
    for obj in objs:
        found = live(cluster, obj)
        what = f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        if found is None:
            problems.append(f"{what} does not exist")
        elif not contains(found, {k: v for k, v in obj.items() if k != "status"}):
            problems.append(f"{what} differs from its rendering")
    return problems


@pytest.mark.parametrize("value_set", ["default", "namespaced"])
def test_install_upgrade_and_uninstall(
    startpunkt_crds: KubeCluster, cluster_helm: Helm, value_set: str
) -> None:
    cluster = startpunkt_crds
    suffix = secrets.token_hex(3)
    release, namespace = f"sp-{suffix}", f"startpunkt-{suffix}"
    values = VALUE_SETS[value_set]
    for watched in values.get("startpunkt", {}).get("rbac", {}).get("namespaced", []):
        ensure_namespace(cluster.api, watched)

    installed = cluster_helm.run(
        "install", release, str(CHART), "-n", namespace, "--create-namespace", values=values
    )
    assert installed.returncode == 0, installed.stderr
    objs = manifest(cluster_helm, release, namespace)
    assert {o["kind"] for o in objs} >= {"Deployment", "Service", "ConfigMap", "Role"}
    assert differences(cluster, objs) == []
    assert one(objs, "PodDisruptionBudget")["apiVersion"] == "policy/v1beta1"  # 1.20

    # the installed RBAC, as the authorizer applies it
    subject = (namespace, one(objs, "ServiceAccount")["metadata"]["name"])
    assert source_reader_problems(objs, subject) == []
    review = Reviewer(cluster.api, *subject)
    wait_for_authorizer(review, objs)
    plan = needed(settings_of(objs))
    assert access_problems(review, plan, lambda ns: ns, set(), namespace) == []
    assert lease_access_problems(review, namespace, DEFAULT_LEASE) == []
    token = cluster.api.request_token(*subject)
    with cluster.http_client(token=token) as client:
        for scope in plan:
            where = f"/namespaces/{scope}" if scope else ""
            assert client.get(f"/apis/{GROUP}/v1alpha4{where}/applications").status_code == 200

    # upgrade with a changed value: a new configuration and the pods roll
    before = live(cluster, one(objs, "Deployment"))
    assert before is not None
    upgraded = cluster_helm.run(
        "upgrade", release, str(CHART), "-n", namespace,
        "--set", "startpunkt.config.web.title=Home", "--set", "startpunkt.deployment.replicas=3",
        values=values,
    )  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    objs = manifest(cluster_helm, release, namespace)
    assert differences(cluster, objs) == []
    after = live(cluster, one(objs, "Deployment"))
    assert after is not None
    assert after["spec"]["replicas"] == 3
    checksum = "checksum/config"
    old_checksum = before["spec"]["template"]["metadata"]["annotations"][checksum]
    assert after["spec"]["template"]["metadata"]["annotations"][checksum] != old_checksum
    assert settings_of(objs).web.title == "Home"
    history = cluster_helm.run("history", release, "-n", namespace, "-o", "yaml")
    assert [r["revision"] for r in yaml.safe_load(history.stdout)] == [1, 2]

    # uninstall: everything of the release goes, the CRDs (and so every Application) stay
    uninstalled = cluster_helm.run("uninstall", release, "-n", namespace)
    assert uninstalled.returncode == 0, uninstalled.stderr
    assert [o["kind"] for o in objs if live(cluster, o) is not None] == []
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert cluster.api.get(f"{crds}/applications.{GROUP}")["metadata"]["name"]
    listed = cluster_helm.run("list", "-n", namespace, "-q")
    assert listed.stdout.strip() == ""
