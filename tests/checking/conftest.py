"""Fixtures: real HTTP(S) servers on 127.0.0.1, a real Store, a running Checker."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trustme
from prometheus_client import CollectorRegistry

from startpunkt.checking import Checker
from startpunkt.config import Settings
from startpunkt.store import Store
from tests.checking.helpers import Apps, HttpServer, Running, settings


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[HttpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    srv = HttpServer(tls=context)
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
def apps() -> Apps:
    return Apps()


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """`make_settings(timeout=1, backoff={"initial_delay": 0.1})`: availability settings."""
    return settings


@pytest.fixture
async def start_checker() -> AsyncIterator[Callable[..., Running]]:
    """Starts a Checker as a task; at teardown checks that it never returned, then cancels it."""
    running: list[Running] = []

    def start(store: Store, **availability: Any) -> Running:
        availability = {"interval": 60, "timeout": 2, **availability}
        registry = CollectorRegistry()
        checker = Checker(settings(**availability), store, registry=registry)
        task = asyncio.create_task(checker.run(), name="availability checker")
        running.append(Running(checker, task, registry))
        return running[-1]

    yield start
    for r in running:
        if r.task.done() and not r.task.cancelled():
            r.task.result()  # raises whatever ended it
            pytest.fail("Checker.run() returned")
        r.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await r.task
