"""Waiting on conditions with a deadline, never on fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _check(probe: Callable[[], T], deadline: float, timeout: float, what: str) -> T | None:
    """The probe's value when truthy; None to try again; fails once the deadline passed."""
    value = probe()
    if value:
        return value
    if time.monotonic() > deadline:
        raise AssertionError(f"timed out after {timeout} s waiting for {what or probe}")
    return None


async def eventually(
    probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> T:
    """Polls `probe` until it returns something truthy; fails with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    # polling on purpose: the conditions live in other processes or objects with no event
    while (value := _check(probe, deadline, timeout, what)) is None:  # noqa: ASYNC110
        await asyncio.sleep(interval)
    return value


def wait_until(
    probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> T:
    """`eventually` for tests that drive a separate process and have no event loop."""
    deadline = time.monotonic() + timeout
    while (value := _check(probe, deadline, timeout, what)) is None:
        time.sleep(interval)
    return value
