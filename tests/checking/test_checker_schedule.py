"""Which targets the running Checker probes, when, and how many at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx
import pytest

from startpunkt.checking import Checker
from startpunkt.config import Availability as AvailabilitySettings
from startpunkt.config import Settings
from startpunkt.model import State
from startpunkt.store import probe_target
from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually


async def test_apps_sharing_a_url_share_one_probe_and_one_result(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("grafana", server.url("/ok?from=a"), health=server.url("/ok"))
    apps.add("grafana-alias", server.url("/ok?from=b"), namespace="other", health=server.url("/ok"))
    start_checker(apps.store)

    await eventually(
        lambda: apps.state("grafana") == "up" and apps.state("grafana-alias", "other") == "up"
    )
    assert server.count("/ok") == 1
    assert apps.availability("grafana") == apps.availability("grafana-alias", "other")


async def test_a_new_app_is_probed_within_a_second(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("first", server.url("/ok"))
    start_checker(apps.store, interval=3600)
    await eventually(lambda: apps.state("first") == "up")

    apps.add("second", server.url("/auth"))

    await eventually(lambda: apps.state("second") == "up", timeout=1.0)
    assert server.count("/auth") == 1


async def test_an_app_deleted_mid_probe_gets_no_result_and_no_more_probes(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    gated = apps.add("gated", server.url("/gate"))
    apps.add("steady", server.url("/flaky"))
    start_checker(apps.store, interval=0.05)
    await eventually(lambda: server.count("/gate") == 1, what="the gated probe is in flight")

    apps.remove("gated")
    server.gate.set()  # the in-flight probe could now be answered
    seen = server.count("/flaky")
    await eventually(lambda: server.count("/flaky") >= seen + 5, what="five more rounds")

    assert server.count("/gate") == 1
    assert apps.store.availability_of(gated).state is State.UNKNOWN
    assert apps.statuses("gated") == []
    assert probe_target(gated) not in apps.store.probe_targets()


async def test_a_removed_app_forgets_its_result_and_starts_unknown_when_added_again(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    app = apps.add("wiki", server.url("/ok"))
    start_checker(apps.store, interval=3600)
    await eventually(lambda: apps.state("wiki") == "up")

    apps.remove("wiki")
    await eventually(lambda: apps.store.availability_of(app).state is State.UNKNOWN)

    apps.add("wiki", server.url("/ok"))
    assert apps.state("wiki") == "unknown"
    await eventually(lambda: apps.state("wiki") == "up", timeout=1.0)
    assert server.count("/ok") == 2


async def test_no_more_probes_run_at_once_than_the_concurrency(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    names = [f"app{i}" for i in range(7)]
    for i, name in enumerate(names):
        apps.add(name, server.url(f"/hang?n={i}"))
    start_checker(apps.store, concurrency=2, timeout=0.2)

    await eventually(lambda: all(apps.state(n) == "down" for n in names))
    assert server.count("/hang") == 7
    assert server.peak == 2


async def test_cancelling_the_checker_stops_it_promptly_and_closes_its_connections(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("stuck", server.url("/hang"))
    running = start_checker(apps.store, timeout=30)
    await eventually(lambda: server.count("/hang") == 1)

    running.task.cancel()
    async with asyncio.timeout(1.0):
        with pytest.raises(asyncio.CancelledError):
            await running.task
    await eventually(lambda: server.disconnects.get("/hang") == 1, timeout=1.0)
    assert apps.state("stuck") == "unknown"


async def test_a_disabled_checker_probes_nothing_and_never_returns(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("wiki", server.url("/ok"))
    running = start_checker(apps.store, enabled=False)

    done, _ = await asyncio.wait([running.task], timeout=0.3)

    assert done == set()
    assert server.seen == []
    assert apps.state("wiki") == "unknown"


async def test_an_app_with_probing_turned_off_is_not_probed(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("quiet", server.url("/missing"), probe=False)
    apps.add("loud", server.url("/ok"))
    start_checker(apps.store)

    await eventually(lambda: apps.state("loud") == "up")
    assert server.count("/missing") == 0
    assert apps.state("quiet") == "unknown"


async def test_an_app_with_a_health_url_is_judged_by_it(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("api", server.url("/missing"), health=server.url("/ok"))
    start_checker(apps.store)

    await eventually(lambda: apps.state("api") == "up")
    assert server.count("/missing") == 0


async def test_a_link_that_is_not_http_stays_unknown_and_says_why(
    apps: Apps, start_checker: Callable[..., Running]
) -> None:
    apps.add("nas", "smb://nas.local/share")
    start_checker(apps.store)

    await eventually(lambda: apps.availability("nas").error is not None)
    assert apps.state("nas") == "unknown"
    assert "only http and https" in apps.availability("nas").error


async def test_a_transport_given_to_the_checker_replaces_the_network(apps: Apps) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(503)

    apps.add("mocked", "http://mocked.invalid/")
    settings = Settings(availability=AvailabilitySettings(timeout=1, publish_details=True))
    checker = Checker(settings, apps.store, transport=httpx.MockTransport(answer))
    task = asyncio.create_task(checker.run(), name="availability checker")
    try:
        await eventually(lambda: apps.state("mocked") == "down")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert seen == ["HEAD http://mocked.invalid/"]
    assert apps.availability("mocked").error == "HTTP 503"
