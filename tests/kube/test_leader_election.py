"""Leader election on a real coordination.k8s.io/v1 Lease: one leader at a time, a handover on
shutdown, a takeover after a crash, stepping down when renewing fails, and a replica without
permission for the Lease doing the work alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from startpunkt.kube.api import Api
from startpunkt.kube.leading import LeaderElector, LeaseConfig, Role
from tests.kube.conftest import connection
from tests.kubecluster import KubeCluster
from tests.waiting import eventually

pytestmark = pytest.mark.cluster

FAST = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.25}


class Worker:
    """Stands in for the leader's work (probing, writing): counts starts and whether it runs."""

    def __init__(self) -> None:
        self.starts = 0
        self.running = False

    async def run(self) -> None:
        self.starts += 1
        self.running = True
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False


class Partition(httpx.AsyncBaseTransport):
    """A transport that can be cut off from the API server, as a network partition would."""

    def __init__(self, cluster: KubeCluster) -> None:
        self.inner = httpx.AsyncHTTPTransport(verify=cluster.ssl_context())
        self.cut = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("partitioned", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def replicas(
    kube_cluster: KubeCluster, kube_namespace: str
) -> AsyncIterator[Callable[..., tuple[LeaderElector, Worker, asyncio.Task[None]]]]:
    """`start(name)` runs one elector, as one replica would; all are cancelled at the end."""
    clients: list[httpx.AsyncClient] = []
    tasks: list[asyncio.Task[None]] = []

    def start(
        name: str, token: str | None = None, partition: Partition | None = None, **timing: Any
    ) -> tuple[LeaderElector, Worker, asyncio.Task[None]]:
        if partition is None:
            client = connection(kube_cluster, token).client(httpx.Timeout(5.0))
        else:
            client = httpx.AsyncClient(
                base_url=kube_cluster.server,
                transport=partition,
                headers={"Authorization": f"Bearer {token or kube_cluster.admin_token}"},
                timeout=5.0,
            )
        clients.append(client)
        config = LeaseConfig("startpunkt", kube_namespace, name, **{**FAST, **timing})
        worker = Worker()
        elector = LeaderElector(Api(client), config, lead=worker.run)
        task = asyncio.get_running_loop().create_task(elector.run(), name=f"elector {name}")
        tasks.append(task)
        return elector, worker, task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()


def lease(cluster: KubeCluster, namespace: str) -> dict[str, Any]:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/startpunkt"
    spec: dict[str, Any] = cluster.api.get(path)["spec"]
    return spec


async def test_one_replica_leads_and_hands_the_lease_over_on_shutdown(
    kube_cluster: KubeCluster, kube_namespace: str, replicas
) -> None:
    a, work_a, task_a = replicas("replica-a")
    await eventually(lambda: a.role is Role.LEADER, what="the first replica to lead")
    b, work_b, _ = replicas("replica-b")
    c, work_c, _ = replicas("replica-c")
    await eventually(lambda: b.holder == c.holder == "replica-a", what="followers seeing a")
    # several rounds later: still one leader, and only its work runs
    renewed = lease(kube_cluster, kube_namespace)["renewTime"]
    await eventually(
        lambda: lease(kube_cluster, kube_namespace)["renewTime"] != renewed, what="a renewal"
    )
    assert (a.role, b.role, c.role) == (Role.LEADER, Role.FOLLOWER, Role.FOLLOWER)
    assert (work_a.running, work_b.running, work_c.running) == (True, False, False)
    spec = lease(kube_cluster, kube_namespace)
    assert spec["holderIdentity"] == "replica-a"
    assert spec["leaseDurationSeconds"] == 2
    assert spec["leaseTransitions"] == 0
    assert datetime.fromisoformat(spec["renewTime"]) >= datetime.fromisoformat(spec["acquireTime"])
    acquired = spec["acquireTime"]

    task_a.cancel()  # a graceful shutdown
    await asyncio.gather(task_a, return_exceptions=True)
    assert not work_a.running
    await eventually(
        lambda: Role.LEADER in (b.role, c.role), timeout=5, what="a follower taking over"
    )
    new = b if b.role is Role.LEADER else c
    other = c if new is b else b
    spec = lease(kube_cluster, kube_namespace)
    assert spec["holderIdentity"] == new.config.identity
    assert spec["leaseTransitions"] == 1
    assert spec["acquireTime"] != acquired
    await eventually(lambda: other.holder == new.config.identity, what="the other following")
    assert other.role is Role.FOLLOWER
    assert (work_b.running, work_c.running) == (new is b, new is c)


async def test_a_crashed_leader_is_replaced_after_the_lease_expires(
    kube_cluster: KubeCluster, kube_namespace: str, replicas
) -> None:
    timing = {"lease_duration": 3.0}  # well apart from the renew deadline (1.5 s)
    cut = Partition(kube_cluster)
    a, work_a, _ = replicas("replica-a", partition=cut, **timing)
    await eventually(lambda: a.role is Role.LEADER, what="a leading")
    b, work_b, _ = replicas("replica-b", **timing)
    await eventually(lambda: b.holder == "replica-a", what="b following a")
    loop = asyncio.get_running_loop()

    cut.cut = True  # a can no longer renew; b must not take over before the lease expires
    cut_at = loop.time()
    await eventually(lambda: not work_a.running, timeout=10, what="a stopping its work")
    assert a.role is Role.FOLLOWER
    assert b.role is Role.FOLLOWER  # never two leaders: a gave up before b could start
    # a kept trying until its renew deadline
    assert loop.time() - cut_at >= FAST["renew_deadline"] - 2 * FAST["retry_period"]
    await eventually(lambda: b.role is Role.LEADER, timeout=10, what="b taking over")
    assert loop.time() - cut_at >= timing["lease_duration"] - 2 * FAST["retry_period"]
    assert work_b.running
    assert lease(kube_cluster, kube_namespace)["leaseTransitions"] == 1

    cut.cut = False  # a is back: it follows b and does not run its work again
    await eventually(lambda: a.holder == "replica-b", what="a following b")
    assert (a.role, work_a.running, work_a.starts) == (Role.FOLLOWER, False, 1)


async def test_a_write_based_on_an_old_version_loses(
    kube_cluster: KubeCluster, kube_namespace: str, replicas
) -> None:
    a, _, _ = replicas("replica-a")
    await eventually(lambda: a.role is Role.LEADER, what="a leading")
    path = f"/apis/coordination.k8s.io/v1/namespaces/{kube_namespace}/leases/startpunkt"
    stale = kube_cluster.api.get(path)
    # someone else writes after this copy was read: the copy's version is no longer current
    await eventually(
        lambda: (
            kube_cluster.api.get(path)["metadata"]["resourceVersion"]
            != stale["metadata"]["resourceVersion"]
        ),
        what="a renewal",
    )
    stale["spec"]["holderIdentity"] = "intruder"
    response = kube_cluster.api.request("PUT", path, body=stale, check=False)
    assert response.status_code == 409
    assert lease(kube_cluster, kube_namespace)["holderIdentity"] == "replica-a"


async def test_without_permission_for_the_lease_a_replica_works_alone(
    kube_cluster: KubeCluster, kube_namespace: str, replicas, caplog
) -> None:
    caplog.set_level(logging.INFO)
    alice = kube_cluster.token_for("alice")  # no rights at all
    a, work, _ = replicas("lonely", token=alice, unusable_retry=0.2)
    await eventually(lambda: work.running, what="the work running alone")
    assert a.role is Role.ALONE
    assert a.leading
    # tried again several times, said so once
    await eventually(lambda: a._api.requests >= 5, what="several tries")
    lines = [r for r in caplog.records if "Cannot use Lease" in r.getMessage()]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert f"{kube_namespace}/startpunkt" in message
    assert "leases" in message
    assert "coordination.k8s.io" in message
    assert (a.role, work.running, work.starts) == (Role.ALONE, True, 1)

    # permission granted later: it joins the election without a restart of its work
    kube_cluster.api.apply(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "lease", "namespace": kube_namespace},
                "rules": [
                    {
                        "apiGroups": ["coordination.k8s.io"],
                        "resources": ["leases"],
                        "verbs": ["get", "update", "create"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "lease", "namespace": kube_namespace},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "lease",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
                ],
            },
        ]
    )
    await eventually(lambda: a.role is Role.LEADER, what="leading once allowed")
    assert (work.running, work.starts) == (True, 1)
    assert lease(kube_cluster, kube_namespace)["holderIdentity"] == "lonely"


async def test_a_lease_namespace_that_does_not_exist_means_working_alone(
    kube_cluster: KubeCluster, api_factory, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    elector = LeaderElector(
        api_factory(connection(kube_cluster)),
        LeaseConfig("startpunkt", "no-such-namespace", "replica-a", **FAST),
        lead=Worker().run,
    )
    task = asyncio.get_running_loop().create_task(elector.run())
    try:
        await eventually(lambda: elector.role is Role.ALONE, what="working alone")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "no-such-namespace/startpunkt" in caplog.text
    assert "startpunkt.leaderElection.namespace" in caplog.text
