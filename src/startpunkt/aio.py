"""Small asyncio helpers shared by the long-running parts."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any


async def forever(work: Coroutine[Any, Any, None]) -> None:
    """Awaits a task body that must never end. If it does, that is a bug, and the process must
    stop rather than serve a store that no longer changes (the TaskGroup then stops the rest)."""
    await work
    raise RuntimeError("a long-running task ended; stopping so the process restarts")
