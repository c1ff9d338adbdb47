"""The rendered overlays on a real kube-apiserver (1.20): every object passes server-side
validation, and the ServiceAccount they create may read what Startpunkt's watch plan reads,
where it reads it, and nothing more."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.conftest import Kubectl, ensure_namespace
from tests.deploy.grants import (
    DEFAULT_LEASE,
    Reviewer,
    access_problems,
    lease_access_problems,
    wait_for_authorizer,
)
from tests.deploy.rendering import (
    GROUP,
    NAMESPACE,
    OVERLAYS,
    URLFROM_TARGETS,
    Grant,
    Obj,
    as_served_by_kubernetes_1_20,
    needed,
    of_kind,
    render,
    settings_of,
    with_documented_components,
)
from tests.kubecluster import KubeCluster

pytestmark = pytest.mark.cluster

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
#: kinds whose API a 1.20 cluster without add-ons does not serve
NOT_SERVED = {"HTTPRoute"}


def variants() -> list[tuple[Path, bool]]:
    return [(p, False) for p in OVERLAYS] + [(p, True) for p in OVERLAYS]


def variant_id(variant: tuple[Path, bool]) -> str:
    overlay, components = variant
    return overlay.name + ("+components" if components else "")


@pytest.fixture(params=variants(), ids=variant_id)
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[Obj], bool]:
    overlay, components = request.param
    if components:
        return render(with_documented_components(overlay, tmp_path)), True
    return render(overlay), False


def test_overlay_passes_server_side_dry_run(
    startpunkt_crds: KubeCluster, admin_kubectl: Kubectl, rendered: tuple[list[Obj], bool]
) -> None:
    objs, _ = rendered
    objs = as_served_by_kubernetes_1_20(o for o in objs if o["kind"] not in NOT_SERVED)
    # a dry run creates nothing, so the namespaces the objects go into must exist already
    for namespace in {o["metadata"].get("namespace") for o in objs} - {None}:
        ensure_namespace(startpunkt_crds.api, namespace)
    result = admin_kubectl(
        "apply",
        "--server-side",
        "--field-manager=startpunkt-deploy-tests",
        "--dry-run=server",
        "-f",
        "-",
        input=yaml.safe_dump_all(objs),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(objs)
    assert all(line.endswith("(server dry run)") for line in lines)


# -- what the ServiceAccount may do -------------------------------------------------------------


def relocate(objs: list[Obj], suffix: str) -> tuple[list[Obj], dict[str, str]]:
    """The objects with every namespace and cluster-scoped name made unique, so the RBAC can
    be applied for real in a cluster other tests share."""
    namespaces = {o["metadata"]["namespace"] for o in objs if o["metadata"].get("namespace")}
    moved = {ns: f"{ns}-{suffix}" for ns in namespaces}
    result = []
    for original in objs:
        obj = copy.deepcopy(original)
        meta = obj["metadata"]
        if meta.get("namespace"):
            meta["namespace"] = moved[meta["namespace"]]
        if obj["kind"] in {"ClusterRole", "ClusterRoleBinding"}:
            meta["name"] = f"{meta['name']}-{suffix}"
        if obj["kind"].endswith("Binding"):
            if obj["roleRef"]["kind"] == "ClusterRole":
                obj["roleRef"]["name"] = f"{obj['roleRef']['name']}-{suffix}"
            for subject in obj["subjects"]:
                subject["namespace"] = moved[subject["namespace"]]
        result.append(obj)
    return result, moved


@pytest.fixture
def applied_rbac(
    startpunkt_crds: KubeCluster, rendered: tuple[list[Obj], bool]
) -> Iterator[tuple[list[Obj], dict[str, str], bool]]:
    objs, components = rendered
    relocated, moved = relocate(of_kind(objs, *RBAC_KINDS), secrets.token_hex(3))
    api = startpunkt_crds.api
    for namespace in moved.values():
        api.create_namespace(namespace)
    api.apply(relocated)
    wait_for_authorizer(Reviewer(api, moved[NAMESPACE]), relocated)
    try:
        yield objs, moved, components
    finally:  # namespaces stay (no namespace controller); cluster-scoped objects need not
        for obj in of_kind(relocated, "ClusterRoleBinding", "ClusterRole"):
            kind = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}
            name = obj["metadata"]["name"]
            api.delete(f"/apis/rbac.authorization.k8s.io/v1/{kind[obj['kind']]}/{name}")


def test_service_account_may_read_exactly_what_startpunkt_watches(
    startpunkt_crds: KubeCluster, applied_rbac: tuple[list[Obj], dict[str, str], bool]
) -> None:
    objs, moved, components = applied_rbac
    plan = needed(settings_of(objs))
    review = Reviewer(startpunkt_crds.api, moved[NAMESPACE])
    extra: set[Grant] = set(URLFROM_TARGETS) if components else set()
    assert review.may_discover()

    def scope(namespace: str | None) -> str | None:
        return moved[namespace] if namespace else None

    assert access_problems(review, plan, scope, extra, moved[NAMESPACE]) == []


def test_service_account_may_hold_its_lease_and_nothing_more(
    startpunkt_crds: KubeCluster, applied_rbac: tuple[list[Obj], dict[str, str], bool]
) -> None:
    """Leader election: the Lease `startpunkt` and the availability ConfigMap in Startpunkt's
    own namespace; no other Lease, no ConfigMap write by another name, no Secret."""
    _, moved, _ = applied_rbac
    review = Reviewer(startpunkt_crds.api, moved[NAMESPACE])
    assert lease_access_problems(review, moved[NAMESPACE], DEFAULT_LEASE) == []


def test_service_account_token_lists_and_watches(
    startpunkt_crds: KubeCluster, applied_rbac: tuple[list[Obj], dict[str, str], bool]
) -> None:
    """The same, with a real token of the ServiceAccount: a LIST and a WATCH of Startpunkt
    Applications in the scope it reads are allowed, Secrets are not."""
    objs, moved, _ = applied_rbac
    plan = needed(settings_of(objs))
    token = startpunkt_crds.api.request_token(moved[NAMESPACE], "startpunkt")
    with startpunkt_crds.http_client(token=token) as client:
        for namespace in plan:
            where = f"/namespaces/{moved[namespace]}" if namespace else ""
            base = f"/apis/{GROUP}/v1alpha4{where}/applications"
            assert client.get(base).status_code == 200
            watch = client.get(base, params={"watch": "1", "timeoutSeconds": "1"})
            assert watch.status_code == 200
            assert forbidden(client.get(f"/api/v1{where}/secrets"))


def forbidden(response: httpx.Response) -> bool:
    return response.status_code == 403
