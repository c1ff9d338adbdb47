"""A cluster reached through an HTTP proxy: the kubeconfig's proxy-url, or HTTPS_PROXY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from startpunkt.kube.api import Api
from startpunkt.kube.connection import ConnectionConfigError, discover
from tests.kube.execplugin import PluginScript, kubeconfig_for
from tests.kubecluster import KubeCluster


class ConnectProxy:
    """An HTTP CONNECT proxy on loopback that records where it was asked to go."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.targets.append(target)
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[ConnectProxy, str]]:
    server = ConnectProxy()
    url = await server.start()
    yield server, url
    await server.stop()


def user_for(how: str, cluster: KubeCluster, tmp_path: Path) -> dict[str, Any]:
    if how == "token":
        return {"token": cluster.admin_token}
    plugin = PluginScript(tmp_path)
    plugin.plan({"token": cluster.admin_token})
    return {"exec": plugin.exec_section()}


async def version_through(path: Path) -> str:
    async with discover(str(path), environ={}).client(httpx.Timeout(10.0)) as client:
        version: str = (await Api(client).get("/version"))["gitVersion"]
    return version


@pytest.mark.parametrize("how", ["token", "exec"])
async def test_proxy_url_carries_the_requests(
    kube_cluster: KubeCluster,
    proxy: tuple[ConnectProxy, str],
    tmp_path: Path,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server, url = proxy
    user = user_for(how, kube_cluster, tmp_path)
    fields = {"certificate-authority": str(kube_cluster.ca_file), "proxy-url": url}
    path = kubeconfig_for(kube_cluster, tmp_path / "kubeconfig", user, **fields)
    assert await version_through(path) == "v1.20.2"
    assert server.targets == [kube_cluster.server.removeprefix("https://")]


@pytest.mark.parametrize("how", ["token", "exec"])
async def test_https_proxy_from_the_environment_is_honoured(
    kube_cluster: KubeCluster,
    proxy: tuple[ConnectProxy, str],
    tmp_path: Path,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, url = proxy
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", url)
    path = kubeconfig_for(
        kube_cluster, tmp_path / "kubeconfig", user_for(how, kube_cluster, tmp_path)
    )
    assert await version_through(path) == "v1.20.2"
    assert server.targets == [kube_cluster.server.removeprefix("https://")]
    server.targets.clear()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert await version_through(path) == "v1.20.2"
    assert server.targets == []


def kubeconfig_with_proxy(path: Path, proxy_url: str) -> Path:
    cluster = {"server": "https://k.example", "proxy-url": proxy_url}
    path.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": cluster}],
                "contexts": [{"name": "c", "context": {"cluster": "c"}}],
                "current-context": "c",
            }
        )
    )
    return path


@pytest.mark.parametrize("proxy_url", ["ftp://proxy.example:21", "proxy.example:3128"])
def test_a_proxy_url_the_client_cannot_use_is_a_clear_error(tmp_path: Path, proxy_url: str) -> None:
    path = kubeconfig_with_proxy(tmp_path / "kubeconfig", proxy_url)
    with pytest.raises(ConnectionConfigError, match="not an http://, https:// or socks5:// URL"):
        discover(str(path), environ={})


def test_a_socks_proxy_needs_the_socks_extra(tmp_path: Path) -> None:
    path = kubeconfig_with_proxy(tmp_path / "kubeconfig", "socks5://127.0.0.1:1080")
    try:
        import socksio  # noqa: F401, PLC0415
    except ImportError:
        with pytest.raises(ConnectionConfigError, match=r"httpx\[socks\]"):
            discover(str(path), environ={})
    else:  # with the extra installed, the proxy is used as given
        assert discover(str(path), environ={}).proxy == "socks5://127.0.0.1:1080"
