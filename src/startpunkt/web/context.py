"""What the web layer needs from the rest of the process, passed in explicitly.

The web layer never talks to Kubernetes: it reads the catalog, and asks the backend for
anything else (readiness, health, an on-demand refresh when watching is off).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from startpunkt.backend import Backend, Unconnected
from startpunkt.catalog import CatalogView
from startpunkt.config import Settings
from startpunkt.events import Hub
from startpunkt.web.metrics import WebMetrics


@dataclass(slots=True)
class WebContext:
    settings: Settings
    catalog: CatalogView
    hub: Hub
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # where the objects come from: ready, health, refresh (LIST behind a short cache when
    # watching is off)
    backend: Backend = field(default_factory=Unconnected)
    version: str = ""
    # the web layer's own metrics, in `registry`; built with the context, so once per process
    metrics: WebMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = WebMetrics(self.registry, self.hub)
