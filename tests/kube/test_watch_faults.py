"""Faults the real kube-apiserver cannot produce on demand, injected by a loopback proxy in
front of it: the reflector must back off, honour Retry-After, notice dead streams, and resume
without relisting or losing a change."""

from __future__ import annotations

import logging

import pytest

from startpunkt.kube.connection import Connection
from startpunkt.kube.reflector import ReflectorState
from tests.kube.conftest import Recorder, settings_for, store_for
from tests.kube.faultproxy import FaultProxy
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.waiting import eventually

pytestmark = pytest.mark.cluster


def names(store):  # type: ignore[no-untyped-def]
    return sorted(a.resource_name for a in store.snapshot().applications)


async def started(crd_cluster: KubeCluster, namespace: str, api_factory, run_reflector, **watch):  # type: ignore[no-untyped-def]
    proxy = FaultProxy(crd_cluster.server, str(crd_cluster.ca_file), crd_cluster.admin_token)
    await proxy.__aenter__()
    settings = settings_for(watch=watch)
    store = store_for(settings)
    recorder = Recorder(store)
    api = api_factory(Connection(server=proxy.url))
    reflector = run_reflector(api, store, settings, namespace=namespace)
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED)
    await eventually(lambda: len(proxy.watches()) == 1, what="the first watch")
    return proxy, store, recorder, reflector


async def test_429_is_retried_after_the_servers_retry_after(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    proxy, store, _recorder, _reflector = await started(
        crd_cluster, kube_namespace, api_factory, run_reflector, timeout="2s"
    )
    try:
        proxy.faults.watch_answers.append((429, {"Retry-After": "2"}))
        # the current watch ends at its server timeout; the next one is answered 429
        await eventually(lambda: len(proxy.watches()) >= 3, timeout=15, what="the retry")
        refused, retried = proxy.watches()[1:3]
        assert retried - refused >= 1.9  # waited as long as the server asked
        assert "Reconnecting watch for Startpunkt Application" in caplog.text
        assert "in 2.00 s" in caplog.text
        crd_cluster.api.post(app_path(kube_namespace), application("after", kube_namespace))
        await eventually(lambda: names(store) == ["after"], what="the app after the 429")
        assert proxy.lists() == 1
    finally:
        await proxy.__aexit__()


async def test_500_backs_off_and_resumes_from_the_last_version(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    proxy, store, recorder, reflector = await started(
        crd_cluster, kube_namespace, api_factory, run_reflector, timeout="2s"
    )
    try:
        proxy.faults.watch_answers += [(500, {}), (500, {}), (500, {})]
        # the open watch ends at its 2 s timeout; the next three are answered 500
        await eventually(lambda: len(proxy.watches()) >= 5, timeout=20, what="the retries")
        crd_cluster.api.post(app_path(kube_namespace), application("during", kube_namespace))
        await eventually(lambda: names(store) == ["during"], timeout=20, what="the app")
        assert reflector.status.reconnects >= 3
        assert reflector.status.relists == 0
        assert proxy.lists() == 1  # resumed, never listed again
        assert [c.action for c in recorder.changes] == ["added"]
        assert reflector.status.state is ReflectorState.SYNCED
    finally:
        await proxy.__aexit__()


async def test_a_stream_cut_midway_resumes_without_duplicates(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector
) -> None:
    proxy, store, recorder, reflector = await started(
        crd_cluster, kube_namespace, api_factory, run_reflector, timeout="1s"
    )
    try:
        proxy.faults.cut_watch_after = 1
        # the open watch predates the fault: wait for one that meets it
        await eventually(lambda: len(proxy.watches()) >= 2, timeout=10, what="a new watch")
        crd_cluster.api.post(app_path(kube_namespace), application("one", kube_namespace))
        crd_cluster.api.post(app_path(kube_namespace), application("two", kube_namespace))
        crd_cluster.api.post(app_path(kube_namespace), application("three", kube_namespace))
        await eventually(lambda: names(store) == ["one", "three", "two"], timeout=20)
        assert sorted(c.item.resource_name for c in recorder.changes) == ["one", "three", "two"]
        assert proxy.faults.cut_watch_after is None  # the cut did happen
        assert reflector.status.reconnects >= 1
        assert proxy.lists() == 1
    finally:
        await proxy.__aexit__()


async def test_a_silent_stream_is_caught_by_the_inactivity_timeout(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    proxy, store, _recorder, _reflector = await started(
        crd_cluster,
        kube_namespace,
        api_factory,
        run_reflector,
        timeout="1s",
        inactivityTimeout="1500ms",
    )
    try:
        await eventually(lambda: len(proxy.watches()) >= 2, timeout=10)  # a fresh watch
        proxy.faults.stall_watch_after = 0
        watches = len(proxy.watches())
        await eventually(lambda: len(proxy.watches()) > watches, timeout=10)  # the stalled one
        crd_cluster.api.post(app_path(kube_namespace), application("late", kube_namespace))
        await eventually(lambda: names(store) == ["late"], timeout=20, what="the app")
        assert "ReadTimeout" in caplog.text
        assert proxy.lists() == 1
    finally:
        await proxy.__aexit__()
