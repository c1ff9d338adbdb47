"""One store for every cluster: identity, de-duplication, lookups and stale marks per cluster,
and availability probed once per URL however many clusters show it."""

from __future__ import annotations

from typing import Any

from startpunkt.clusters import Clusters, ClusterState, ClusterStatus
from startpunkt.config import Settings
from startpunkt.model import Reference
from startpunkt.runtime import build_store
from startpunkt.store import Store, qualified
from tests.waiting import eventually

APPS = "startpunkt-application"


def app(name: str, url: str = "https://same.example", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"name": name.title(), "group": "Tools", "url": url, **spec},
    }


def two_clusters() -> tuple[Store, Clusters]:
    clusters = Clusters("home")
    clusters.add(ClusterStatus("home", "local", ""))
    clusters.add(ClusterStatus("lab", "kubeconfig", ""))
    return build_store(Settings(), clusters=clusters), clusters


def test_the_same_object_in_two_clusters_is_two_apps_probed_once() -> None:
    store, _ = two_clusters()
    store.apply(APPS, "ADDED", app("grafana"))
    store.apply(qualified("lab", APPS), "ADDED", app("grafana"))

    apps = store.snapshot().applications
    assert {(a.cluster, a.key) for a in apps} == {
        ("home", "startpunkt-application/default/grafana"),
        ("lab", "lab::startpunkt-application/default/grafana"),
    }
    # the same URL in two clusters: both shown, one probe target
    assert len(store.catalog.availability.targets()) == 1
    assert [o.ref.cluster for o in store.outcomes()] == ["home", "lab"]

    store.apply(qualified("lab", APPS), "DELETED", app("grafana"))
    assert [a.cluster for a in store.snapshot().applications] == ["home"]


def test_a_reference_is_looked_up_in_the_objects_own_cluster() -> None:
    store, _ = two_clusters()
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 8080}]},
    }
    store.apply(qualified("lab", "ref:web"), "ADDED", service)
    ref = Reference("v1", "Service", "default", "web")

    assert store.objects.find(ref, "lab") == service
    assert store.objects.find(ref) is None  # the local cluster has no such Service


def test_a_stale_cluster_keeps_its_items_marked_until_it_is_back() -> None:
    store, clusters = two_clusters()
    store.apply(APPS, "ADDED", app("home-app", "https://home.example"))
    store.apply(qualified("lab", APPS), "ADDED", app("lab-app", "https://lab.example"))
    clusters.report("lab", ClusterState.SYNCED)
    seen: list[Any] = []
    store.subscribe(seen.append)

    clusters.report("lab", ClusterState.STALE, "ConnectError")
    stale = {a.name: a.stale_since for a in store.snapshot().applications}
    assert stale["Home-App"] is None
    assert stale["Lab-App"] is not None
    assert [(c.action, c.item.name) for c in seen[-1]] == [("updated", "Lab-App")]

    clusters.report("lab", ClusterState.SYNCED)
    assert all(a.stale_since is None for a in store.snapshot().applications)


def test_a_cluster_never_synced_is_not_stale_but_syncing() -> None:
    _, clusters = two_clusters()
    clusters.report("lab", ClusterState.STALE, "ConnectError")
    status = clusters.get("lab")
    assert status is not None
    assert (status.state, status.stale_since) == (ClusterState.SYNCING, None)
    assert not clusters.ready()


async def test_a_moment_out_of_sync_marks_nothing_a_longer_one_does() -> None:
    clusters = Clusters("home", stale_after=0.2)
    status = clusters.add(ClusterStatus("lab", "kubeconfig", ""))
    remapped: list[str] = []
    clusters.listeners.append(remapped.append)
    clusters.report("lab", ClusterState.SYNCED)

    clusters.report("lab", ClusterState.STALE, "ReadError")  # a watch dropped...
    clusters.report("lab", ClusterState.SYNCED)  # ...and resumed at once
    assert (status.stale_since, remapped) == (None, [])

    clusters.report("lab", ClusterState.STALE, "ConnectError")
    assert status.state is ClusterState.SYNCED  # not yet
    await eventually(lambda: status.stale_since is not None, timeout=3)
    assert (status.state, status.error, remapped) == (ClusterState.STALE, "ConnectError", ["lab"])
