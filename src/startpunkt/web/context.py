"""What the web layer needs from the rest of the process, passed in explicitly.

The web layer never talks to Kubernetes: it reads the store, and asks the runtime through the
callables here for anything else (health, on-demand refresh when watching is off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from startpunkt.config import Settings
from startpunkt.events import Hub
from startpunkt.shapes.status import SourcesJSON
from startpunkt.store import Store


async def _nothing_to_refresh() -> None:
    return None


def _always_ready() -> bool:
    return True


def _no_status() -> SourcesJSON:
    return {}


@dataclass(slots=True)
class WebContext:
    settings: Settings
    store: Store
    hub: Hub
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # with watching off, brings the store up to date (LIST behind a short cache)
    refresh: Callable[[], Awaitable[None]] = _nothing_to_refresh
    ready: Callable[[], bool] = _always_ready
    # per-source watch health, as JSON
    sources_status: Callable[[], SourcesJSON] = _no_status
    version: str = ""
