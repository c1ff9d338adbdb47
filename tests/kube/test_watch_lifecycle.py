"""The watch engine against the real kube-apiserver: sync, events, resume, relist, recovery."""

from __future__ import annotations

import logging

import pytest

from startpunkt.kube.reflector import ReflectorState
from tests.kube.conftest import Recorder, connection, settings_for, store_for
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application, install_crds
from tests.waiting import eventually


def app_names(store):  # type: ignore[no-untyped-def]
    return sorted(a.resource_name for a in store.snapshot().applications)


async def test_initial_sync_fills_the_store_without_a_storm_of_additions(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    for name in ("alpha", "beta", "gamma"):
        crd_cluster.api.post(app_path(kube_namespace), application(name, kube_namespace))
    settings = settings_for()
    store = store_for(settings)
    recorder = Recorder(store)
    reflector = run_reflector(
        api_factory(connection(crd_cluster)), store, settings, namespace=kube_namespace
    )

    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED, what="sync")
    assert app_names(store) == ["alpha", "beta", "gamma"]
    assert recorder.changes == []  # the first listing is one resync, not three additions
    assert len(recorder.resyncs) == 1


async def test_added_modified_and_deleted_each_reach_the_store(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for()
    store = store_for(settings)
    recorder = Recorder(store)
    reflector = run_reflector(
        api_factory(connection(crd_cluster)), store, settings, namespace=kube_namespace
    )
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)

    crd_cluster.api.post(app_path(kube_namespace), application("web", kube_namespace))
    await eventually(lambda: recorder.actions("web") == ["added"], what="ADDED")
    crd_cluster.api.patch(app_path(kube_namespace, "web"), {"spec": {"info": "Now described"}})
    await eventually(lambda: recorder.actions("web") == ["added", "updated"], what="MODIFIED")
    assert store.snapshot().applications[0].info == "Now described"
    crd_cluster.api.delete(app_path(kube_namespace, "web"))
    await eventually(lambda: recorder.actions("web")[-1:] == ["removed"], what="DELETED")
    assert store.snapshot().applications == ()
    assert f"Startpunkt Application ADDED: {kube_namespace}/web" in caplog.text
    assert "Successfully started watch for Startpunkt Application" in caplog.text


async def test_an_update_nobody_can_see_records_no_change(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("quiet", kube_namespace))
    settings = settings_for()
    store = store_for(settings)
    recorder = Recorder(store)
    reflector = run_reflector(
        api_factory(connection(crd_cluster)), store, settings, namespace=kube_namespace
    )
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)
    before = reflector.status.events["MODIFIED"]

    crd_cluster.api.patch(
        app_path(kube_namespace, "quiet"), {"metadata": {"labels": {"touched": "yes"}}}
    )
    await eventually(lambda: reflector.status.events["MODIFIED"] > before, what="the MODIFIED")
    assert recorder.changes == []


async def test_server_side_watch_timeouts_resume_without_relisting_or_duplicates(
    kube_cluster_short_watch: KubeCluster, api_factory, run_reflector
) -> None:
    cluster = kube_cluster_short_watch
    install_crds(cluster)
    namespace = "resume"
    cluster.api.create_namespace(namespace)
    settings = settings_for(watch={"timeout": "2s"})
    store = store_for(settings)
    recorder = Recorder(store)
    api = api_factory(connection(cluster))
    reflector = run_reflector(api, store, settings, namespace=namespace)
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)
    lists_before = api.requests

    # spread writes over several server-side closes (the server ends each watch after ~3 s)
    for round_ in range(4):
        cluster.api.post(app_path(namespace), application(f"app{round_}", namespace))
        watches = api.requests
        await eventually(lambda w=watches: api.requests > w, timeout=15, what="a new watch")
    await eventually(lambda: len(app_names(store)) == 4, what="all four apps")

    assert [c.action for c in recorder.changes] == ["added"] * 4  # each once, no duplicates
    assert reflector.status.relists == 0
    assert api.requests - lists_before >= 4  # one watch request after another, no listing
    assert reflector.status.state is ReflectorState.SYNCED


async def test_kill_and_restart_of_the_apiserver_is_survived_with_backoff(
    make_kube_cluster, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    cluster = make_kube_cluster()
    install_crds(cluster)
    cluster.api.create_namespace("survive")
    cluster.api.post(app_path("survive"), application("before", "survive"))
    settings = settings_for()
    store = store_for(settings)
    reflector = run_reflector(api_factory(connection(cluster)), store, settings)
    await eventually(lambda: app_names(store) == ["before"], what="the first app")

    cluster.kill_apiserver()
    await eventually(lambda: reflector.status.reconnects >= 2, what="reconnect attempts")
    assert reflector.status.state is ReflectorState.RECONNECTING
    cluster.start_apiserver()
    cluster.api.post(app_path("survive"), application("after", "survive"))
    cluster.api.delete(app_path("survive", "before"))

    await eventually(lambda: app_names(store) == ["after"], timeout=60, what="the final state")
    assert "Watch closed for Startpunkt Application with error" in caplog.text
    assert "Reconnecting watch for Startpunkt Application in all namespaces in" in caplog.text
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)


async def test_an_expired_version_relists_and_reports_deletions_made_during_the_gap(
    kube_cluster_nocache: KubeCluster, api_factory, run_reflector
) -> None:
    cluster = kube_cluster_nocache
    install_crds(cluster)
    namespace = "gap"
    cluster.api.create_namespace(namespace)
    for name in ("keep", "doomed"):
        cluster.api.post(app_path(namespace), application(name, namespace))
    settings = settings_for()
    store = store_for(settings)
    recorder = Recorder(store)
    api = api_factory(connection(cluster))
    reflector = run_reflector(api, store, settings, namespace=namespace)
    await eventually(lambda: app_names(store) == ["doomed", "keep"])

    # while nobody watches: delete one app, write more, and compact the history away
    for task in [t for t in __import__("asyncio").all_tasks() if "Reflector.run" in repr(t)]:
        task.cancel()
    cluster.api.delete(app_path(namespace, "doomed"))
    cluster.api.post(app_path(namespace), application("new", namespace))
    cluster.api.patch(app_path(namespace, "keep"), {"spec": {"info": "kept"}})
    cluster.compact_etcd()
    run_reflector(api, store, settings, reflector=reflector)

    await eventually(lambda: app_names(store) == ["keep", "new"], timeout=30, what="relist")
    assert reflector.status.relists == 1
    assert recorder.actions("doomed") == ["removed"]
    assert recorder.actions("new") == ["added"]


async def test_a_crd_installed_after_start_is_picked_up_without_a_restart(
    make_kube_cluster, api_factory, run_reflector
) -> None:
    cluster = make_kube_cluster()
    settings = settings_for()
    store = store_for(settings)
    reflector = run_reflector(api_factory(connection(cluster)), store, settings)
    await eventually(lambda: reflector.status.state is ReflectorState.ABSENT, what="absent")

    install_crds(cluster)
    cluster.api.create_namespace("late")
    cluster.api.post(app_path("late"), application("late-app", "late"))
    await eventually(lambda: app_names(store) == ["late-app"], timeout=30, what="the late app")
    assert reflector.status.state is ReflectorState.SYNCED


async def test_a_token_without_watch_gets_one_clear_error_naming_the_permission(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    grant(crd_cluster, kube_namespace, "alice", verbs=["get", "list"])
    settings = settings_for()
    store = store_for(settings)
    token = crd_cluster.token_for("alice")
    reflector = run_reflector(
        api_factory(connection(crd_cluster, token)), store, settings, namespace=kube_namespace
    )
    await eventually(lambda: reflector.status.state is ReflectorState.FORBIDDEN, what="403")
    expected = f"cannot watch applications.startpunkt.ullberg.us in namespace {kube_namespace}"
    assert expected in caplog.text
    assert caplog.text.count("Forbidden: cannot") == 1


async def test_a_role_in_one_namespace_is_enough_in_match_names_mode(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    grant(crd_cluster, kube_namespace, "bob", verbs=["get", "list", "watch"])
    crd_cluster.api.post(app_path(kube_namespace), application("scoped", kube_namespace))
    settings = settings_for(namespaceSelector={"any": False, "matchNames": [kube_namespace]})
    store = store_for(settings)
    api = api_factory(connection(crd_cluster, crd_cluster.token_for("bob")))
    reflector = run_reflector(api, store, settings, namespace=kube_namespace)
    await eventually(lambda: app_names(store) == ["scoped"], what="the scoped app")
    crd_cluster.api.post(app_path(kube_namespace), application("second", kube_namespace))
    await eventually(lambda: app_names(store) == ["scoped", "second"], what="a watched change")
    assert reflector.status.state is ReflectorState.SYNCED


def grant(cluster: KubeCluster, namespace: str, user: str, verbs: list[str]) -> None:
    cluster.api.apply(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": f"{user}-apps", "namespace": namespace},
                "rules": [
                    {
                        "apiGroups": ["startpunkt.ullberg.us"],
                        "resources": ["applications"],
                        "verbs": verbs,
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"{user}-apps", "namespace": namespace},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": f"{user}-apps",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                ],
            },
        ]
    )


pytestmark = pytest.mark.cluster


async def test_a_listing_larger_than_one_page_is_read_whole(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    for i in range(7):
        crd_cluster.api.post(app_path(kube_namespace), application(f"paged{i}", kube_namespace))
    settings = settings_for(watch={"pageSize": 2})
    store = store_for(settings)
    api = api_factory(connection(crd_cluster))
    reflector = run_reflector(api, store, settings, namespace=kube_namespace)
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)
    assert len(app_names(store)) == 7
    assert api.requests >= 4  # four pages of at most two, then the watch


async def test_bookmarks_move_the_resume_version_of_a_quiet_watch(
    kube_cluster_short_watch: KubeCluster, api_factory, run_reflector
) -> None:
    cluster = kube_cluster_short_watch
    install_crds(cluster)
    for namespace in ("quiet", "busy"):
        cluster.api.create_namespace(namespace)
    settings = settings_for(watch={"timeout": "8s"})
    store = store_for(settings)
    reflector = run_reflector(api_factory(connection(cluster)), store, settings, namespace="quiet")
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)
    listed = int(reflector.status.resource_version or 0)
    # writes elsewhere move the cluster on; the quiet watch only learns of it from bookmarks
    for i in range(3):
        cluster.api.post(app_path("busy"), application(f"noise{i}", "busy"))
    await eventually(
        lambda: reflector.status.events["BOOKMARK"] >= 1, timeout=30, what="a BOOKMARK"
    )
    assert int(reflector.status.resource_version or 0) > listed
    assert reflector.status.relists == 0
    assert app_names(store) == []
