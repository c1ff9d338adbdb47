"""Prometheus metrics of the web layer: requests by route and status, and the event streams.

Labels stay few: the route is the path template (`/api/apps/{tags}`), never the raw path, so a
scan of random URLs adds one `unmatched` series, not thousands.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from startpunkt.events import Hub


class _HubCollector(Collector):
    """Reads the hub's own counts at scrape time, so the hot path only bumps integers."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "startpunkt_stream_clients", "Open event streams", value=self._hub.clients
        )
        yield CounterMetricFamily(
            "startpunkt_events_broadcast",
            "Store changes encoded and offered to every open stream",
            value=self._hub.broadcasts,
        )


class WebMetrics:
    """Registered once per web context: the app is rebuilt on a configuration reload, and its
    counters carry on."""

    def __init__(self, registry: CollectorRegistry, hub: Hub) -> None:
        self.requests = Counter(
            "startpunkt_http_requests",
            "HTTP requests by route template and status code",
            ["route", "status"],
            registry=registry,
        )
        self.response_start = Histogram(
            "startpunkt_http_response_start_seconds",
            "Time until the response headers were sent, by route template",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.stream_cutoffs = Counter(
            "startpunkt_stream_cutoffs",
            "Event streams the server ended: overflow (fell too far behind, told to resync) "
            "or stalled (stopped reading)",
            ["reason"],
            registry=registry,
        )
        for reason in ("overflow", "stalled"):
            self.stream_cutoffs.labels(reason)
        registry.register(_HubCollector(hub))


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestMetrics:
    """ASGI middleware counting responses when their headers go out (streams count at once)."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        counted = False

        async def send_counting(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start" and not counted:
                counted = True
                self._count(scope, message["status"], started)
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        except Exception:
            # the 500 itself is sent by ServerErrorMiddleware, outside this one
            if not counted:
                self._count(scope, 500, started)
            raise

    def _count(self, scope: Scope, status: int, started: float) -> None:
        route = _route_label(scope)
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.response_start.labels(route).observe(time.perf_counter() - started)
