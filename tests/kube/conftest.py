"""Fixtures for exercising the watch engine against the real kube-apiserver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from startpunkt.config import Settings
from startpunkt.kube.api import Api
from startpunkt.kube.connection import Connection
from startpunkt.kube.reflector import Reflector
from startpunkt.runtime import build_store
from startpunkt.sources import source_named
from startpunkt.store import Change, Notice, Resync, Store
from tests.kubecluster import KubeCluster


def settings_for(**sections: Any) -> Settings:
    """Fast, test-sized watch settings, plus any overrides as the YAML would give them."""
    tree: dict[str, Any] = {
        "watch": {
            "timeout": "20s",
            "inactivityTimeout": "30s",
            "absentRecheck": "500ms",
            "forbiddenRetry": "1s",
            "backoff": {"initial": "100ms", "max": "1s"},
        },
        "availability": {"enabled": False},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(tree.get(key), dict):
            tree[key] = {**tree[key], **value}
        else:
            tree[key] = value
    return Settings.model_validate(tree)


def connection(cluster: KubeCluster, token: str | None = None) -> Connection:
    return Connection(
        server=cluster.server, ca_file=cluster.ca_file, token=token or cluster.admin_token
    )


class Recorder:
    """Everything the store told its listeners."""

    def __init__(self, store: Store) -> None:
        self.changes: list[Change] = []
        self.resyncs: list[Resync] = []
        store.subscribe(self._on)

    def _on(self, notice: Notice) -> None:
        if isinstance(notice, Resync):
            self.resyncs.append(notice)
        else:
            self.changes.extend(notice)

    def actions(self, name: str) -> list[str]:
        return [c.action for c in self.changes if c.item.resource_name == name]


@pytest.fixture
async def api_factory() -> AsyncIterator[Callable[[Connection], Api]]:
    clients = []

    def make(conn: Connection) -> Api:
        import httpx  # noqa: PLC0415

        client = conn.client(httpx.Timeout(10.0))
        clients.append(client)
        return Api(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def run_reflector() -> AsyncIterator[Callable[..., Reflector]]:
    """Starts reflectors as tasks; cancels them at the end of the test."""
    tasks: list[asyncio.Task[None]] = []

    def start(
        api: Api,
        store: Store,
        settings: Settings,
        source: str = "startpunkt-application",
        namespace: str | None = None,
        reflector: Reflector | None = None,
    ) -> Reflector:
        from startpunkt.kube.discovery import Discovery  # noqa: PLC0415

        if reflector is None:
            found = source_named(source)
            reflector = Reflector(
                api,
                Discovery(api, ttl=0.2),
                store=store,
                source=source,
                kinds=found.kinds,
                namespace=namespace,
                settings=settings.watch,
            )
        tasks.append(asyncio.get_running_loop().create_task(reflector.run()))
        return reflector

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def store_for(settings: Settings) -> Store:
    return build_store(settings)
