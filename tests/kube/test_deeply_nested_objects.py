"""A custom resource nested thousands of levels deep, as the real kube-apiserver accepts where a
schema preserves unknown fields (Istio's VirtualService does): listing and watching it must not
end the reflector (Python's JSON parser gives up near 1,000 levels)."""

from __future__ import annotations

from typing import Any

import pytest

from startpunkt.kube.api import MAX_DEPTH
from startpunkt.kube.reflector import Reflector, ReflectorState
from startpunkt.model import ResourceKind
from tests.kube.conftest import connection, settings_for, store_for
from tests.kubecluster import KubeCluster
from tests.waiting import eventually

pytestmark = pytest.mark.cluster

GROUP = "deep.hardening.startpunkt.test"
KIND = ResourceKind(GROUP, "v1", "nests", "Nest", "Nest")
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"nests.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "nests", "singular": "nest", "kind": "Nest", "listKind": "NestList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}


def create_nest(cluster: KubeCluster, namespace: str, name: str, depth: int) -> None:
    """Written as text: Python's own JSON encoder cannot nest that deep either."""
    body = (
        f'{{"apiVersion": "{GROUP}/v1", "kind": "Nest", '
        f'"metadata": {{"name": "{name}", "namespace": "{namespace}"}}, '
        f'"spec": {{"deep": {"[" * depth}"bottom"{"]" * depth}}}}}'
    )
    with cluster.http_client() as client:
        response = client.post(
            f"/apis/{GROUP}/v1/namespaces/{namespace}/nests",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 201, response.text[:500]


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


async def test_deeply_nested_objects_are_listed_and_watched_cut_to_the_depth_limit(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    crd_cluster.api.apply([CRD])
    create_nest(crd_cluster, kube_namespace, "listed", 2000)
    settings = settings_for()
    store = store_for(settings)
    api = api_factory(connection(crd_cluster))
    from startpunkt.kube.discovery import Discovery  # noqa: PLC0415

    reflector = Reflector(
        api,
        Discovery(api, ttl=0.2),
        store=store,
        source="nests",
        kinds=(KIND,),
        namespace=kube_namespace,
        settings=settings.watch,
    )
    run_reflector(api, store, settings, reflector=reflector)
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED, what="the list")
    listed = store.get_object("nests", kube_namespace, "listed")
    assert listed is not None
    # the list, its items, the item and spec come first; what lay below the limit became null
    assert depth_of(listed["spec"]["deep"]) == MAX_DEPTH - 4

    create_nest(crd_cluster, kube_namespace, "watched", 3000)
    await eventually(
        lambda: store.get_object("nests", kube_namespace, "watched") is not None,
        what="the watched object",
    )
    assert reflector.status.state is ReflectorState.SYNCED
    assert reflector.status.relists == 0
