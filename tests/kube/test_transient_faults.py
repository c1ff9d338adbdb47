"""Answers that look permanent but are not: a 403 from an API server that is starting and has
not read its RBAC rules yet, and a continue token that expires on every page under constant
compaction. Injected by the loopback proxy in front of the real kube-apiserver, which cannot
produce them on demand."""

from __future__ import annotations

import logging

import pytest

from startpunkt.kube.connection import Connection
from startpunkt.kube.reflector import FORBIDDEN_TRIES, ReflectorState
from tests.kube.conftest import settings_for, store_for
from tests.kube.faultproxy import FaultProxy
from tests.kube.test_watch_faults import names, started
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.waiting import eventually

pytestmark = pytest.mark.cluster


async def test_a_few_403s_after_a_sync_are_retried_quickly_not_called_forbidden(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    # a forbidden source would wait a minute: far beyond the deadline below
    proxy, store, _recorder, reflector = await started(
        crd_cluster, kube_namespace, api_factory, run_reflector, timeout="2s", forbiddenRetry="60s"
    )
    try:
        proxy.faults.watch_answers += [(403, {})] * (FORBIDDEN_TRIES - 1)
        # the open watch ends at its 2 s timeout; the next ones are refused, as by an API
        # server that has just restarted
        await eventually(
            lambda: len(proxy.watches()) >= FORBIDDEN_TRIES + 1, timeout=20, what="the retries"
        )
        crd_cluster.api.post(app_path(kube_namespace), application("after", kube_namespace))
        await eventually(lambda: names(store) == ["after"], timeout=20, what="the app")
        assert reflector.status.state is ReflectorState.SYNCED
        assert "Forbidden: cannot" not in caplog.text
        assert "Grant get, list and watch" not in caplog.text
        assert proxy.lists() == 1  # resumed from the last version each time
    finally:
        await proxy.__aexit__()


async def test_403s_that_persist_are_called_forbidden_once_and_then_retried_slowly(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    proxy, store, _recorder, reflector = await started(
        crd_cluster, kube_namespace, api_factory, run_reflector, timeout="2s"
    )
    try:
        proxy.faults.watch_answers += [(403, {})] * (FORBIDDEN_TRIES + 2)
        await eventually(
            lambda: reflector.status.state is ReflectorState.FORBIDDEN,
            timeout=30,
            what="forbidden",
        )
        assert caplog.text.count("Forbidden: cannot watch applications") == 1
        # once the permission is there again (the proxy's refusals run out), it recovers
        crd_cluster.api.post(app_path(kube_namespace), application("back", kube_namespace))
        await eventually(lambda: names(store) == ["back"], timeout=30, what="the recovery")
        assert reflector.status.state is ReflectorState.SYNCED
    finally:
        await proxy.__aexit__()


async def test_a_continue_token_that_always_expires_ends_in_one_unpaginated_list(
    crd_cluster: KubeCluster, kube_namespace: str, api_factory, run_reflector, caplog
) -> None:
    caplog.set_level(logging.INFO)
    for i in range(7):
        crd_cluster.api.post(app_path(kube_namespace), application(f"paged{i}", kube_namespace))
    proxy = FaultProxy(crd_cluster.server, str(crd_cluster.ca_file), crd_cluster.admin_token)
    await proxy.__aenter__()
    try:
        proxy.faults.expire_continue = 1000  # compaction outruns every paged listing
        settings = settings_for(watch={"pageSize": 2})
        store = store_for(settings)
        api = api_factory(Connection(server=proxy.url))
        reflector = run_reflector(api, store, settings, namespace=kube_namespace)
        await eventually(
            lambda: reflector.status.state is ReflectorState.SYNCED, what="the listing"
        )
        assert names(store) == [f"paged{i}" for i in range(7)]
        listings = [q for path, q in proxy.faults.gets if path.endswith("/applications")]
        # page 1, expired page 2, page 1 again, expired page 2, then all at once
        assert [("limit" in q, "continue" in q) for q in listings] == [
            (True, False),
            (True, True),
            (True, False),
            (True, True),
            (False, False),
        ]
        assert "listing again in one request" in caplog.text
    finally:
        await proxy.__aexit__()
