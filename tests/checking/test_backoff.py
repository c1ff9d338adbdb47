"""A failing target is probed less and less often, and normally again once it answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from startpunkt.checking import retry_delay
from startpunkt.config import Backoff
from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually

BACKOFF = Backoff(initial_delay=5, max_delay=300, multiplier=2)


@pytest.mark.parametrize(
    ("failures", "interval", "delay"),
    [
        (0, 60, 60),  # success: the normal interval
        (1, 1, 5),  # 5 * 2**0
        (2, 1, 10),
        (4, 1, 40),
        (7, 1, 300),  # 320 capped at max_delay
        (10_000, 1, 300),  # no overflow after weeks of failures
        (1, 60, 60),  # never sooner than the interval
        (5, 60, 80),
    ],
)
def test_retry_delay(failures: int, interval: float, delay: float) -> None:
    assert retry_delay(failures, interval, BACKOFF) == delay


def test_a_multiplier_of_one_keeps_the_initial_delay() -> None:
    flat = Backoff(initial_delay=7, max_delay=300, multiplier=1)

    assert [retry_delay(n, 1, flat) for n in (1, 2, 50)] == [7, 7, 7]


async def test_a_failing_target_is_probed_less_often_than_a_healthy_one(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.add("healthy", server.url("/ok"))
    apps.add("broken", server.url("/error"))
    start_checker(
        apps.store,
        interval=0.05,
        backoff={"initial_delay": 0.1, "multiplier": 2, "max_delay": 0.8},
    )

    # 1.5 s of probing: /ok every 0.05 s; /error at 0, 0.1, 0.3, 0.7, 1.5
    await eventually(lambda: server.count("/ok") >= 30, timeout=10, interval=0.01)

    assert 3 <= server.count("/error") <= 7
    assert apps.state("broken") == "down"


async def test_one_success_resets_the_backoff(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    server.script = [500, 500, 500, 200, 500]  # then `server.flaky`: 200
    apps.add("flaky", server.url("/flaky"))
    start_checker(
        apps.store,
        interval=0.05,
        backoff={"initial_delay": 0.1, "multiplier": 2, "max_delay": 10},
    )

    await eventually(lambda: server.count("/flaky") >= 6, timeout=10, interval=0.01)

    at = [r.at for r in server.requests("/flaky")]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(at)]
    # after three failures the wait has grown to 0.4 s ...
    assert gaps[2] >= 0.35, gaps
    # ... the success in between resets it: the next failure waits 0.1 s again, not 0.8 s
    assert gaps[4] < gaps[2] / 2, gaps
