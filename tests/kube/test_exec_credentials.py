"""Exec credential plugins (EKS, GKE, AKS, OIDC users) against the real kube-apiserver."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from startpunkt.kube.api import Api, ApiError
from startpunkt.kube.connection import Connection, discover
from startpunkt.kube.credentials import ExecCredentialError
from startpunkt.kube.reflector import Reflector, ReflectorState
from tests.kube.conftest import settings_for, store_for
from tests.kube.execplugin import PluginScript, kubeconfig_for
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.waiting import eventually

pytestmark = pytest.mark.cluster

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


@pytest.fixture
def plugin(tmp_path: Path) -> PluginScript:
    return PluginScript(tmp_path)


@pytest.fixture
async def connect(
    kube_cluster: KubeCluster, plugin: PluginScript, tmp_path: Path
) -> AsyncIterator[Callable[..., Api]]:
    """`connect(**exec_fields)`: an Api whose kubeconfig user is the test's plugin."""
    clients: list[httpx.AsyncClient] = []

    def make(timeout: float | None = None, **exec_fields: Any) -> Api:
        path = kubeconfig_for(
            kube_cluster, tmp_path / "kubeconfig", {"exec": plugin.exec_section(**exec_fields)}
        )
        conn = discover(str(path), environ={})
        if timeout is not None:
            assert conn.exec_plugin is not None
            plugin_ = dataclasses.replace(conn.exec_plugin, timeout=timeout)
            conn = dataclasses.replace(conn, exec_plugin=plugin_)
        clients.append(conn.client(httpx.Timeout(10.0)))
        return Api(clients[-1])

    yield make
    for client in clients:
        await client.aclose()


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
async def test_a_list_works_with_the_token_the_plugin_prints(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api], api_version: str
) -> None:
    plugin.plan({"token": kube_cluster.admin_token, "expires_in": 3600})
    api = connect(api_version=api_version)
    namespaces = await api.get("/api/v1/namespaces")
    assert "default" in {ns["metadata"]["name"] for ns in namespaces["items"]}
    [run] = plugin.runs
    assert run["args"] == ["--region", "lab"]
    assert run["greeting"] == "hello"
    assert run["info"] == {
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {"interactive": False},
    }


async def test_the_token_is_kept_so_many_requests_run_the_plugin_once(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"token": kube_cluster.admin_token, "expires_in": 3600})
    api = connect()
    await asyncio.gather(*(api.get("/api/v1/namespaces/default") for _ in range(10)))
    for _ in range(5):
        await api.get("/version")
    assert len(plugin.runs) == 1


async def test_an_expired_token_runs_the_plugin_again(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan(
        {"token": kube_cluster.admin_token, "expires_in": -60},
        {"token": kube_cluster.admin_token, "expires_in": 3600},
    )
    api = connect()
    for _ in range(3):
        await api.get("/api/v1/namespaces/default")
    assert len(plugin.runs) == 2  # the first token was stale at once, the second one is kept


async def test_a_rejected_token_runs_the_plugin_again_and_the_request_succeeds(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan(
        {"token": "revoked-token", "expires_in": 3600},
        {"token": kube_cluster.admin_token, "expires_in": 3600},
    )
    api = connect()
    namespace = await api.get("/api/v1/namespaces/default")
    assert namespace["metadata"]["name"] == "default"
    assert len(plugin.runs) == 2
    await api.get("/api/v1/namespaces/default")
    assert len(plugin.runs) == 2


async def test_a_token_that_stays_rejected_fails_the_request_after_one_more_run(
    plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"token": "revoked-token"})
    api = connect()
    with pytest.raises(ApiError) as caught:
        await api.get("/api/v1/namespaces/default")
    assert caught.value.status == 401
    assert len(plugin.runs) == 2


async def test_a_missing_plugin_names_its_install_hint(
    connect: Callable[..., Api], tmp_path: Path
) -> None:
    api = connect(
        command="aws-iam-authenticator-not-installed",
        installHint="Install aws-iam-authenticator: https://example.test/install",
    )
    with pytest.raises(ExecCredentialError) as caught:
        await api.get("/version")
    message = str(caught.value)
    assert "'aws-iam-authenticator-not-installed' not found" in message
    assert "Install aws-iam-authenticator: https://example.test/install" in message


async def test_a_failing_plugin_reports_its_exit_status_and_first_error_line(
    plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"exit": 1, "stderr": "error: the SSO session has expired\nsecond line"})
    api = connect()
    with pytest.raises(ExecCredentialError) as caught:
        await api.get("/version")
    message = str(caught.value)
    assert "exited with status 1: error: the SSO session has expired" in message
    assert "second line" not in message


async def test_a_plugin_printing_the_wrong_api_version_is_refused(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api], tmp_path: Path
) -> None:
    # the plugin answers in the version it was asked for; ask for v1 but say v1beta1 in the info
    plugin.plan({"token": kube_cluster.admin_token})
    api = connect()
    script = plugin.path.read_text().replace('info["apiVersion"]', f'"{V1BETA1}"')
    plugin.path.write_text(script)
    with pytest.raises(ExecCredentialError, match=r"apiVersion.*v1beta1.*kubeconfig asks for"):
        await api.get("/version")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_hanging_plugin_is_stopped_after_its_timeout(
    plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"hang": True})
    api = connect(timeout=1.0)
    with pytest.raises(ExecCredentialError, match="gave no credential within 1 s; stopped it"):
        await api.get("/version")
    [run] = plugin.runs
    assert _gone(run["pid"])


async def test_a_plugin_that_prints_without_end_is_stopped(
    plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"flood": True})
    with pytest.raises(ExecCredentialError, match="printed more than 1048576 bytes; stopped it"):
        await connect().get("/version")
    assert _gone(plugin.runs[0]["pid"])


async def test_a_hanging_plugin_holds_up_nothing_else(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"hang": True})
    waiting = asyncio.create_task(connect().get("/version"))
    await eventually(lambda: plugin.runs, what="the plugin to start")
    other = Connection(server=kube_cluster.server, ca_file=str(kube_cluster.ca_file))
    async with other.client(httpx.Timeout(10.0)) as client:
        assert (await Api(client).get("/version"))["gitVersion"] == "v1.20.2"
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert _gone(plugin.runs[0]["pid"])  # no plugin is left behind by a cancelled request


async def test_a_plugin_that_asks_gets_the_cluster_in_its_exec_info(
    kube_cluster: KubeCluster, plugin: PluginScript, connect: Callable[..., Api]
) -> None:
    plugin.plan({"token": kube_cluster.admin_token})
    await connect(provideClusterInfo=True).get("/version")
    [run] = plugin.runs
    cluster = run["info"]["spec"]["cluster"]
    assert cluster["server"] == kube_cluster.server
    ca = Path(kube_cluster.ca_file).read_bytes()
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca


async def test_a_watch_retries_a_failing_plugin_and_syncs_once_it_works(
    crd_cluster: KubeCluster,
    kube_namespace: str,
    plugin: PluginScript,
    tmp_path: Path,
    api_factory: Callable[[Connection], Api],
    run_reflector: Callable[..., Reflector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    crd_cluster.api.post(app_path(kube_namespace), application("alpha", kube_namespace))
    failure = {"exit": 1, "stderr": "error: the network is unreachable"}
    plugin.plan(failure, failure, {"token": crd_cluster.admin_token})
    path = kubeconfig_for(crd_cluster, tmp_path / "kubeconfig", {"exec": plugin.exec_section()})
    settings = settings_for()
    store = store_for(settings)
    reflector = run_reflector(
        api_factory(discover(str(path), environ={})), store, settings, namespace=kube_namespace
    )
    await eventually(lambda: reflector.status.state is ReflectorState.SYNCED, what="sync")
    assert [a.resource_name for a in store.snapshot().applications] == ["alpha"]
    assert len(plugin.runs) == 3
    assert "exited with status 1: error: the network is unreachable" in caplog.text
