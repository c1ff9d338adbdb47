"""What the store (and so every open page) hears from the checker."""

from __future__ import annotations

import time
from collections.abc import Callable

from startpunkt.model import State
from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually

QUICK = {"interval": 0.05, "backoff": {"initial_delay": 0.05, "max_delay": 0.05}}


async def test_each_state_change_is_published_once_however_often_it_is_probed(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("flaky", server.url("/flaky"))
    start_checker(apps.store, **QUICK)

    await eventually(lambda: apps.statuses("flaky") == ["up"], interval=0.01)
    await eventually(lambda: server.count("/flaky") >= 5, interval=0.01)
    server.flaky = 500
    await eventually(lambda: apps.statuses("flaky") == ["up", "down"], interval=0.01)
    seen = server.count("/flaky")
    await eventually(lambda: server.count("/flaky") >= seen + 4, interval=0.01)
    server.flaky = 200
    await eventually(lambda: apps.statuses("flaky") == ["up", "down", "up"], interval=0.01)
    seen = server.count("/flaky")
    await eventually(lambda: server.count("/flaky") >= seen + 4, interval=0.01)

    assert apps.statuses("flaky") == ["up", "down", "up"]


async def test_a_status_change_carries_the_details_of_the_probe(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("broken", server.url("/error"))
    before = time.time()
    start_checker(apps.store)

    await eventually(lambda: apps.statuses("broken") == ["down"], interval=0.01)
    (change,) = [c for c in apps.changes if c.action == "status"]
    availability = change.availability
    assert (availability.state, availability.status_code) == (State.DOWN, 500)
    assert availability.error == "HTTP 500"
    assert availability.latency_ms is not None
    assert 0 < availability.latency_ms < 2000
    assert availability.last_checked is not None
    assert before <= availability.last_checked <= time.time()
    assert availability.available is False


async def test_latency_and_last_checked_stay_fresh_without_a_status_change(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("wiki", server.url("/ok"))
    start_checker(apps.store, interval=0.05)
    await eventually(lambda: apps.state("wiki") == "up", interval=0.01)
    first = apps.availability("wiki").last_checked

    await eventually(lambda: apps.availability("wiki").last_checked > first, interval=0.01)
    assert apps.statuses("wiki") == ["up"]


async def test_per_app_accepted_codes_and_timeouts_are_separate_probes(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("strict", server.url("/missing?a"), health=server.url("/missing"))
    apps.add("lenient", server.url("/missing?b"), health=server.url("/missing"), accepted=[404])
    apps.add("patient", server.url("/slow?a"), health=server.url("/slow"))
    apps.add("hasty", server.url("/slow?b"), health=server.url("/slow"), timeout=0.1)
    start_checker(apps.store, timeout=5)

    names = ("strict", "lenient", "patient", "hasty")
    await eventually(lambda: all(apps.state(n) != "unknown" for n in names), interval=0.01)

    assert {n: apps.state(n) for n in names} == {
        "strict": "down",
        "lenient": "up",
        "patient": "up",
        "hasty": "down",
    }
    assert apps.availability("hasty").error == "timed out after 0.1 s"
    assert server.count("/missing") == 2
    assert server.count("/slow") == 2
