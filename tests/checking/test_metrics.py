"""The Prometheus view of availability: per-app up/down, probe counts and latencies."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest

from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually


def app_up(registry: CollectorRegistry, name: str, group: str = "Apps") -> float | None:
    labels = {"key": f"test/default/{name}", "name": name, "group": group}
    return registry.get_sample_value("startpunkt_app_up", labels)


async def test_app_up_is_1_for_up_0_for_down_and_absent_while_unknown(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("wiki", server.url("/ok"), group="Docs")
    apps.add("broken", server.url("/error"))
    apps.add("stuck", server.url("/hang"))
    apps.add("nas", "smb://nas.local/share")
    registry = start_checker(apps.store, timeout=30).registry

    await eventually(lambda: app_up(registry, "broken") == 0, interval=0.01)
    assert app_up(registry, "wiki", "Docs") == 1
    assert app_up(registry, "stuck") is None  # still being probed
    assert app_up(registry, "nas") is None  # never probed
    state = {"key": "test/default/wiki", "name": "wiki", "group": "Docs", "state": "up"}
    assert registry.get_sample_value("startpunkt_app_state", state) == 1


async def test_app_up_follows_the_store_at_once(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("wiki", server.url("/ok"))
    registry = start_checker(apps.store).registry
    await eventually(lambda: app_up(registry, "wiki") == 1, interval=0.01)

    apps.remove("wiki")

    assert app_up(registry, "wiki") is None  # no waiting: it is read from the store


async def test_probes_are_counted_by_result(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("wiki", server.url("/ok"))
    apps.add("broken", server.url("/error"))
    apps.add("stuck", server.url("/hang"))
    registry = start_checker(apps.store, timeout=0.2).registry

    def count(result: str) -> float | None:
        return registry.get_sample_value("startpunkt_probes_total", {"result": result})

    await eventually(lambda: count("timeout") == 1, interval=0.01)
    assert (count("up"), count("status"), count("tls")) == (1, 1, 0)


async def test_latency_is_recorded_per_url_without_credentials_and_dropped_with_the_app(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    secret_url = server.url("/ok?token=hunter2").replace("://", "://admin:hunter2@")
    apps.add("wiki", secret_url)
    registry = start_checker(apps.store).registry
    label = {"url": server.url("/ok")}

    await eventually(
        lambda: registry.get_sample_value("startpunkt_app_probe_latency_seconds_count", label) == 1,
        interval=0.01,
    )
    assert b"hunter2" not in generate_latest(registry)

    apps.remove("wiki")

    await eventually(
        lambda: (
            registry.get_sample_value("startpunkt_app_probe_latency_seconds_count", label) is None
        ),
        interval=0.01,
    )
