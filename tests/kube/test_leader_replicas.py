"""Several `startpunkt serve` processes against the real kube-apiserver and one real app
server: one of them probes and writes, all of them show the same availability, and the Lease
moves on when the leader is killed or shut down."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster

INTERVAL = 1.0  # seconds between probes of one app
FAST = "{leaseDuration: 3s, renewDeadline: 2s, retryPeriod: 500ms}"


class AppServer:
    """A real HTTP app server that counts the probes it gets, per path."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.status: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                with outer._lock:
                    outer.counts[self.path] += 1
                self.send_response(outer.status.get(self.path, 200))
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def app_server() -> Iterator[AppServer]:
    server = AppServer()
    yield server
    server.close()


class Stream:
    """An open page's event stream: every (event, id, data) it received."""

    def __init__(self, base: str, last_event_id: str | None = None) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._args = (base + "/api/updates/stream", headers)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        url, headers = self._args
        try:
            with httpx.stream("GET", url, headers=headers, timeout=60) as response:
                event, id_ = "", ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.removeprefix("event:").strip()
                    elif line.startswith("id:"):
                        id_ = line.removeprefix("id:").strip()
                    elif line.startswith("data:"):
                        data = json.loads(line.removeprefix("data:"))
                        # plain `data:` messages name their event in the envelope's type
                        self.events.append((event or str(data.get("type", "")), id_, data))
                        event, id_ = "", ""
        except httpx.HTTPError:
            pass  # the process went away

    def statuses(self, name: str) -> list[str]:
        return [
            data["data"]["status"]
            for event, _, data in self.events
            if event == "STATUS_CHANGED" and data["data"]["name"] == name
        ]


def status_of(base: str, name: str) -> str | None:
    try:
        groups = httpx.get(base + "/api/apps", timeout=5).json()["groups"]
    except httpx.HTTPError:
        return None
    found = [a["status"] for g in groups for a in g["applications"] if a["name"] == name]
    return found[0] if found else None


def metric(base: str, line_start: str) -> float | None:
    for line in httpx.get(base + "/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def lease(cluster: KubeCluster, namespace: str) -> dict[str, Any]:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/startpunkt"
    response = cluster.api.request("GET", path, check=False)
    return dict(response.json().get("spec") or {}) if response.status_code == 200 else {}


class Replicas:
    """`count` processes, as a Deployment's pods: POD_NAME and POD_NAMESPACE set."""

    def __init__(
        self,
        cluster: KubeCluster,
        namespace: str,
        tmp_path: Path,
        election: str = FAST,
        user: str = "admin",
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        kubeconfig = cluster.write_kubeconfig(tmp_path / f"kubeconfig-{user}", user=user)
        config = tmp_path / "startpunkt.yaml"
        config.write_text(
            f"startpunkt:\n  availability: {{interval: {INTERVAL}s, timeout: 2}}\n"
            f"  namespaceSelector: {{any: false, matchNames: [{namespace}]}}\n"
            f"  leaderElection: {election}\n"
            "  realtime: {heartbeatInterval: 1s}\n"
        )
        self._args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
        self._tmp = tmp_path
        self.served: dict[str, Served] = {}
        self._stack = ExitStack()

    def start(self, *names: str) -> None:
        for name in names:
            env = {"POD_NAME": name, "POD_NAMESPACE": self.namespace}
            served = Served(self._args, self._tmp / f"{name}.log", env=env)
            self.served[name] = self._stack.enter_context(served)

    def urls(self, *names: str) -> list[str]:
        return [self.served[n].url for n in names or self.served]

    def holder(self) -> str | None:
        return lease(self.cluster, self.namespace).get("holderIdentity") or None

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def replicas(crd_cluster: KubeCluster, kube_namespace: str, tmp_path: Path) -> Iterator[Any]:
    made: list[Replicas] = []

    def make(**kwargs: Any) -> Replicas:
        made.append(Replicas(crd_cluster, kube_namespace, tmp_path, **kwargs))
        return made[-1]

    yield make
    for group in made:
        group.close()


def add_apps(cluster: KubeCluster, namespace: str, server: AppServer, *names: str) -> None:
    for name in names:
        app = application(name, namespace, url=f"{server.url}/{name}")
        cluster.api.post(app_path(namespace), app)


def status_managers(cluster: KubeCluster, namespace: str, name: str) -> set[str]:
    """Who wrote the object's status, as managedFields records it."""
    obj = cluster.api.get(app_path(namespace, name))
    return {
        entry["manager"]
        for entry in obj["metadata"].get("managedFields") or ()
        if "f:status" in (entry.get("fieldsV1") or {})
    }


def test_three_replicas_probe_once_and_show_the_same_availability(
    crd_cluster: KubeCluster, kube_namespace: str, app_server: AppServer, replicas
) -> None:
    add_apps(crd_cluster, kube_namespace, app_server, "alpha", "beta")
    group = replicas()
    group.start("replica-0", "replica-1", "replica-2")
    urls = group.urls()
    wait_until(
        lambda: all(status_of(u, "Alpha") == status_of(u, "Beta") == "up" for u in urls),
        what="both apps up on every replica",
    )
    leader = group.holder()
    assert leader in group.served
    followers = [n for n in group.served if n != leader]
    for name, served in group.served.items():
        assert metric(served.url, "startpunkt_leader") == (1.0 if name == leader else 0.0)
        election = httpx.get(served.url + "/api/sources").json()["leaderElection"]
        assert election["holder"] == leader
        assert election["identity"] == name
        assert election["lease"] == f"{kube_namespace}/startpunkt"
        assert election["role"] == ("leader" if name == leader else "follower")
    # only the leader probes: its counter moves, the followers' stay at zero
    for name in followers:
        assert metric(group.served[name].url, 'startpunkt_probes_total{result="up"}') == 0.0

    # one probe per interval per app, not one per replica
    before, started = app_server.count("/alpha"), time.monotonic()
    wait_until(lambda: app_server.count("/alpha") >= before + 5, what="five more probes")
    probes = app_server.count("/alpha") - before
    elapsed = time.monotonic() - started
    assert probes <= elapsed / INTERVAL + 2, f"{probes} probes in {elapsed:.1f} s"

    streams = {name: Stream(group.served[name].url) for name in group.served}
    for served in group.served.values():
        wait_until(
            lambda s=served: metric(s.url, "startpunkt_stream_clients") == 1.0,
            what="the open stream",
        )
    app_server.status["/beta"] = 503
    wait_until(lambda: status_of(group.served[leader].url, "Beta") == "down", what="down")
    # every replica shows it within a second of the leader
    wait_until(
        lambda: all(status_of(u, "Beta") == "down" for u in urls),
        timeout=1.0,
        interval=0.02,
        what="down on every replica",
    )
    assert all(status_of(u, "Alpha") == "up" for u in urls)
    wait_until(
        lambda: all(s.statuses("Beta") == ["down"] for s in streams.values()),
        what="STATUS_CHANGED on every replica's stream",
    )

    # .status is written by the leader only, and says what every page says
    wait_until(
        lambda: (
            crd_cluster.api.get(app_path(kube_namespace, "beta"))["status"]["available"] is False
        ),
        what="the status written",
    )
    for name in ("alpha", "beta"):
        assert status_managers(crd_cluster, kube_namespace, name) == {f"startpunkt/{leader}"}

    # a page that reconnects to a sibling cannot resume there: event ids are per process
    last_id = next(i for e, i, _ in reversed(streams[leader].events) if i)
    resumed = Stream(group.served[followers[0]].url, last_event_id=last_id)
    wait_until(lambda: "RESYNC" in [e for e, _, _ in resumed.events], what="RESYNC")
    assert [e for e, _, _ in resumed.events if e != "HEARTBEAT"] == ["RESYNC"]


def test_a_killed_leader_is_replaced_without_a_spurious_state_on_any_page(
    crd_cluster: KubeCluster, kube_namespace: str, app_server: AppServer, replicas
) -> None:
    add_apps(crd_cluster, kube_namespace, app_server, "gamma")
    app_server.status["/gamma"] = 503  # down from the start: a new leader must not flip it
    add_apps(crd_cluster, kube_namespace, app_server, "delta")
    group = replicas()
    group.start("replica-0", "replica-1", "replica-2")
    urls = group.urls()
    wait_until(
        lambda: all(
            status_of(u, "Gamma") == "down" and status_of(u, "Delta") == "up" for u in urls
        ),
        what="availability on every replica",
    )
    leader = group.holder()
    assert leader is not None
    survivors = [n for n in group.served if n != leader]
    streams = {n: Stream(group.served[n].url) for n in survivors}
    for name in survivors:
        wait_until(
            lambda u=group.served[name].url: metric(u, "startpunkt_stream_clients") == 1.0,
            what="the open stream",
        )

    process = group.served[leader].process
    assert process is not None
    process.kill()  # kill -9: no chance to hand the Lease over
    process.wait()
    # the Lease is taken over once it expires (3 s), at a follower's next look (0.5 s)
    new = wait_until(
        lambda: (h := group.holder()) in survivors and h, timeout=15, what="a new leader"
    )
    assert lease(crd_cluster, kube_namespace)["leaseTransitions"] >= 1
    wait_until(lambda: metric(group.served[new].url, "startpunkt_leader") == 1.0)
    probes = app_server.count("/delta")
    wait_until(lambda: app_server.count("/delta") >= probes + 3, what="probing resumed")
    wait_until(
        lambda: (metric(group.served[new].url, 'startpunkt_probes_total{result="up"}') or 0) >= 3,
        what="the new leader's own probes",
    )
    for url in group.urls(*survivors):
        assert status_of(url, "Gamma") == "down"
        assert status_of(url, "Delta") == "up"
    # no page on a surviving replica saw the apps become unknown, or up and down again
    for stream in streams.values():
        assert stream.statuses("Gamma") == []
        assert stream.statuses("Delta") == []
        assert "RESYNC" not in [e for e, _, _ in stream.events]
    log = group.served[new].log()
    assert "Became the leader" in log


def test_a_leader_shut_down_hands_the_lease_over_at_once(
    crd_cluster: KubeCluster, kube_namespace: str, app_server: AppServer, replicas
) -> None:
    add_apps(crd_cluster, kube_namespace, app_server, "epsilon")
    # a long lease: a follower that took over only after expiry would take 20 s
    group = replicas(election="{leaseDuration: 20s, renewDeadline: 10s, retryPeriod: 500ms}")
    group.start("replica-0", "replica-1")
    urls = group.urls()
    wait_until(lambda: all(status_of(u, "Epsilon") == "up" for u in urls), what="up")
    leader = group.holder()
    assert leader is not None
    other = next(n for n in group.served if n != leader)

    assert group.served[leader].stop() == 0  # SIGTERM, as on a rolling update
    assert "Released Lease" in group.served[leader].log()
    wait_until(lambda: group.holder() == other, timeout=10, what="the other replica leading")
    probes = app_server.count("/epsilon")
    wait_until(lambda: app_server.count("/epsilon") > probes, what="probing resumed")
    assert status_of(group.served[other].url, "Epsilon") == "up"


def grant_reading(cluster: KubeCluster, namespace: str, user: str) -> None:
    """What Startpunkt needs to watch one namespace and write status; nothing on Leases."""
    cluster.api.apply(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "startpunkt-reader", "namespace": namespace},
                "rules": [
                    {
                        "apiGroups": [
                            "",
                            "startpunkt.ullberg.us",
                            "networking.k8s.io",
                            "discovery.k8s.io",
                            "hajimari.io",
                            "gateway.networking.k8s.io",
                            "networking.istio.io",
                            "route.openshift.io",
                        ],
                        "resources": ["*"],
                        "verbs": ["get", "list", "watch", "patch"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "startpunkt-reader", "namespace": namespace},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "startpunkt-reader",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                ],
            },
        ]
    )


def test_a_replica_that_cannot_use_the_lease_says_so_once_and_works_alone(
    crd_cluster: KubeCluster, kube_namespace: str, app_server: AppServer, replicas
) -> None:
    grant_reading(crd_cluster, kube_namespace, "bob")
    add_apps(crd_cluster, kube_namespace, app_server, "zeta")
    group = replicas(user="bob")
    group.start("lonely")
    (url,) = group.urls()
    wait_until(lambda: status_of(url, "Zeta") == "up", what="probed by itself")
    wait_until(
        lambda: (
            crd_cluster.api.get(app_path(kube_namespace, "zeta")).get("status", {}).get("available")
            is True
        ),
        what="status written by itself",
    )
    assert metric(url, "startpunkt_leader") == 1.0
    assert httpx.get(url + "/api/sources").json()["leaderElection"]["role"] == "alone"
    assert group.holder() is None  # it never created one
    log = group.served["lonely"].log()
    assert log.count("Cannot use Lease") == 1
    line = next(line for line in log.splitlines() if "Cannot use Lease" in line)
    assert f"{kube_namespace}/startpunkt" in line
    assert "coordination.k8s.io" in line
    assert "configmaps" not in log  # the election is off, so is following its ConfigMap
