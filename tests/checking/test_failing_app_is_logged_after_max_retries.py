"""availability.maxRetries (the original's key): a warning once an app has failed that many
checks in a row, not on every failure and not again while it stays down."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually

WARNING = "has failed 3 checks in a row (availability.maxRetries)"


async def test_a_warning_after_max_retries_failures_in_a_row(
    apps: Apps,
    server: HttpServer,
    start_checker: Callable[..., Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="startpunkt.checking")
    # two failures, a success that resets the count, then failures for good
    server.script = [500, 500, 200]
    server.flaky = 500
    apps.add("flaky", server.url("/flaky"))
    start_checker(
        apps.store,
        interval=0.02,
        max_retries=3,
        backoff={"initial_delay": 0.02, "multiplier": 1, "max_delay": 0.02},
    )

    await eventually(lambda: server.count("/flaky") >= 9, timeout=10, interval=0.01)

    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1  # not for the first two failures, not again while down
    assert warnings[0].levelno == logging.WARNING
    assert "HTTP 500" in warnings[0].getMessage()


async def test_zero_turns_the_warning_off(
    apps: Apps,
    server: HttpServer,
    start_checker: Callable[..., Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="startpunkt.checking")
    apps.add("broken", server.url("/error"))
    start_checker(
        apps.store,
        interval=0.02,
        max_retries=0,
        backoff={"initial_delay": 0.02, "multiplier": 1, "max_delay": 0.02},
    )

    await eventually(lambda: server.count("/error") >= 4, timeout=10, interval=0.01)

    assert "availability.maxRetries" not in caplog.text
