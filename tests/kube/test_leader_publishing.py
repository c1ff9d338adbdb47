"""The availability the leader publishes for the other replicas: compact enough for 10,000
apps in one ConfigMap, written only when a state changes, and applied by followers."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from startpunkt.kube.connection import Connection
from startpunkt.kube.publishing import (
    CONFIGMAP_NAME,
    SOURCE,
    Follower,
    Publisher,
    configmap_path,
    decode,
    encode,
    target_key,
)
from startpunkt.model import Availability, State
from startpunkt.store import ProbeTarget, Store
from tests.kube.conftest import Recorder, connection, settings_for, store_for
from tests.kubecluster import KubeCluster
from tests.waiting import eventually

ONE_MIB = 1024 * 1024


def test_every_known_state_survives_the_round_trip() -> None:
    for state in (State.UP, State.DOWN, State.DEGRADED, State.SCALED_TO_ZERO):
        availability = Availability(state, 503, 12.4, 1_800_000_000.0, "connection refused")
        value = encode(availability)
        assert value is not None
        assert decode(value) == Availability(
            state, 503, 12.0, 1_800_000_000.0, "connection refused"
        )
    assert decode(encode(Availability(State.UP))) == Availability(State.UP)


def test_unknown_is_never_published() -> None:
    assert encode(Availability()) is None


@pytest.mark.parametrize(
    "value", ["", "x 200 1 2", "u", "u 200 1", "u two 1 2", "u 200 1.5 2", None, 7, ["u"]]
)
def test_a_malformed_value_is_ignored(value: Any) -> None:
    assert decode(value) is None


def test_keys_are_stable_short_configmap_keys_that_tell_targets_apart() -> None:
    plain = ProbeTarget("https://wiki.example/")
    keys = {
        target_key(plain),
        target_key(ProbeTarget("https://wiki.example")),
        target_key(ProbeTarget("https://wiki.example/", frozenset({200}))),
        target_key(ProbeTarget("https://wiki.example/", None, 2.0)),
    }
    assert len(keys) == 4
    assert target_key(plain) == target_key(ProbeTarget("https://wiki.example/"))
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]{12}", k) for k in keys)


def test_ten_thousand_failing_apps_fit_one_configmap() -> None:
    # the worst case: every app down, with a long error message and a slow answer
    error = "connection to upstream timed out after a very long while, " * 3
    data = {
        target_key(ProbeTarget(f"https://app-{i}.apps.homelab.example/health")): encode(
            Availability(State.DOWN, 504, 29_999.0, 1_800_000_000.5, error)
        )
        for i in range(10_000)
    }
    assert len(data) == 10_000
    size = sum(len(k) + len(v or "") for k, v in data.items())  # what the 1 MiB limit counts
    # room to spare for managedFields, which count towards etcd's request limit (1.5 MiB)
    assert size < 0.8 * ONE_MIB
    assert len(json.dumps({"data": data})) < ONE_MIB


def app(name: str, url: str) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"name": name, "group": "G", "url": url},
    }


def store_with(*urls: str) -> Store:
    store = store_for(settings_for())
    for i, url in enumerate(urls):
        store.apply("startpunkt-application", "ADDED", app(f"app-{i}", url))
    return store


async def test_only_state_changes_are_written(api_factory) -> None:
    store = store_with("https://a.example", "https://b.example")
    a, b = ProbeTarget("https://a.example"), ProbeTarget("https://b.example")
    api = api_factory(Connection(server="http://127.0.0.1:9"))  # never asked here
    publisher = Publisher(api, store, namespace="apps", ready=lambda: True)
    store.set_availability(a, Availability(State.UP, 200, 10.0, 1.0))
    assert publisher.changes() == {target_key(a): "u 200 10 1"}  # b is unknown: not published
    publisher._published = {target_key(a): State.UP}
    store.set_availability(a, Availability(State.UP, 204, 30.0, 61.0))  # another probe
    assert publisher.changes() == {}
    store.set_availability(a, Availability(State.DOWN, 503, 5.0, 121.0))
    assert publisher.changes() == {target_key(a): "d 503 5 121"}
    publisher._published = {target_key(a): State.DOWN, "gone-target0": State.UP}
    store.set_availability(b, Availability(State.UP, 200, 1.0, 2.0))
    assert publisher.changes() == {target_key(b): "u 200 1 2", "gone-target0": None}
    not_ready = Publisher(api, store, namespace="apps", ready=lambda: False)
    not_ready._published = {"gone-target0": State.UP}
    # while the store is still filling, a target it lacks may just not have arrived yet
    assert "gone-target0" not in not_ready.changes()


@pytest.mark.cluster
async def test_a_follower_shows_what_the_leader_publishes(
    kube_cluster: KubeCluster, kube_namespace: str, api_factory
) -> None:
    api = api_factory(connection(kube_cluster))
    urls = ("https://a.example", "https://b.example")
    leader, follower_store = store_with(*urls), store_with(*urls)
    a, b = (ProbeTarget(u) for u in urls)
    publisher = Publisher(api, leader, namespace=kube_namespace, ready=lambda: True)
    Follower(follower_store, kube_namespace, active=lambda: True)  # listens to the store
    recorder = Recorder(follower_store)
    path = configmap_path(kube_namespace)
    task = asyncio.get_running_loop().create_task(publisher.run())
    try:

        def deliver() -> dict[str, Any]:
            # what the follower's reflector does with every event of the watched ConfigMap
            response = kube_cluster.api.request("GET", path, check=False)
            if response.status_code == 404:
                return {}
            configmap: dict[str, Any] = response.json()
            follower_store.apply(SOURCE, "MODIFIED", configmap)
            return configmap

        await eventually(lambda: deliver().get("metadata", {}).get("name") == CONFIGMAP_NAME)
        leader.set_availability(a, Availability(State.UP, 200, 10.0, 1.0))
        leader.set_availability(b, Availability(State.DOWN, 503, 10.0, 1.0))
        await eventually(lambda: len(deliver().get("data") or {}) == 2, what="two states")
        await eventually(
            lambda: follower_store.target_availability(b).state is State.DOWN, what="applied"
        )
        assert follower_store.target_availability(a) == Availability(State.UP, 200, 10.0, 1.0)
        changed = [(c.item.url, c.availability.state) for c in recorder.changes]
        assert sorted(changed) == [(urls[0], State.UP), (urls[1], State.DOWN)]

        writes = publisher.writes
        for checked in range(2, 12):  # probes that change nothing are not written
            leader.set_availability(a, Availability(State.UP, 200, 11.0, float(checked)))
        leader.set_availability(b, Availability(State.UP, 200, 9.0, 12.0))
        await eventually(lambda: (deliver()["data"][target_key(b)]).startswith("u "))
        assert publisher.writes == writes + 1
        await eventually(lambda: follower_store.target_availability(b).state is State.UP)

        # an app the follower learns of later gets its published state at once
        c = ProbeTarget("https://c.example")
        leader.apply("startpunkt-application", "ADDED", app("app-2", c.url))
        leader.set_availability(c, Availability(State.SCALED_TO_ZERO, None, None, 13.0))
        await eventually(lambda: target_key(c) in (deliver().get("data") or {}))
        assert follower_store.target_availability(c).state is State.UNKNOWN
        follower_store.apply("startpunkt-application", "ADDED", app("app-2", c.url))
        await eventually(
            lambda: follower_store.target_availability(c).state is State.SCALED_TO_ZERO
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.cluster
async def test_a_deleted_configmap_is_written_whole_again(
    kube_cluster: KubeCluster, kube_namespace: str, api_factory
) -> None:
    api = api_factory(connection(kube_cluster))
    leader = store_with("https://a.example", "https://b.example")
    a, b = ProbeTarget("https://a.example"), ProbeTarget("https://b.example")
    leader.set_availability(a, Availability(State.UP, 200, 10.0, 1.0))
    publisher = Publisher(api, leader, namespace=kube_namespace, ready=lambda: True)
    path = configmap_path(kube_namespace)

    def published() -> dict[str, str]:
        response = kube_cluster.api.request("GET", path, check=False)
        return dict(response.json().get("data") or {}) if response.status_code == 200 else {}

    task = asyncio.get_running_loop().create_task(publisher.run())
    try:
        await eventually(lambda: target_key(a) in published(), what="the first publish")
        kube_cluster.api.delete(path)  # someone cleans up
        leader.set_availability(b, Availability(State.DOWN, 503, 10.0, 2.0))
        await eventually(lambda: len(published()) == 2, what="both states, a included")
        assert published()[target_key(a)] == "u 200 10 1"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.cluster
async def test_a_leader_that_may_not_publish_says_what_to_grant_once(
    kube_cluster: KubeCluster, kube_namespace: str, api_factory, caplog
) -> None:
    api = api_factory(connection(kube_cluster, kube_cluster.token_for("alice")))
    leader = store_with("https://a.example")
    leader.set_availability(ProbeTarget("https://a.example"), Availability(State.UP, 200))
    publisher = Publisher(api, leader, namespace=kube_namespace, ready=lambda: True)
    task = asyncio.get_running_loop().create_task(publisher.run())
    try:
        await eventually(lambda: "Forbidden" in caplog.text, what="the message")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (line,) = [r.getMessage() for r in caplog.records if "Forbidden" in r.getMessage()]
    assert f"{kube_namespace}/{CONFIGMAP_NAME}" in line
    assert "configmaps" in line
    assert "other replicas cannot show it" in line
