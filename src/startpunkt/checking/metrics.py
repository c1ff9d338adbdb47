"""Prometheus metrics for availability, so the start page doubles as a small uptime exporter.

`startpunkt_app_up` and `startpunkt_app_state` are read from the store's snapshot at scrape
time, so they can never disagree with what the page shows. Probe counts and latencies are
recorded as probes finish; a removed target's latency series is dropped with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from startpunkt.checking.probing import ProbeOutcome, ProbeResult, redact
from startpunkt.model import State
from startpunkt.store import ProbeTarget, Store

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_UP = {State.UP: 1.0, State.DEGRADED: 1.0, State.DOWN: 0.0}


class AppCollector:
    """`startpunkt_app_up` and `startpunkt_app_state`, per visible application."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        up, state = self._families()
        snapshot = self._store.snapshot()
        for app in snapshot.applications:
            availability = snapshot.availability[app.key]
            labels = [app.key, app.name, app.group]
            if (value := _UP.get(availability.state)) is not None:
                up.add_metric(labels, value)
            if availability.state is not State.UNKNOWN:
                state.add_metric([*labels, availability.state.value], 1.0)
        yield up
        yield state

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["key", "name", "group"]
        up = GaugeMetricFamily(
            "startpunkt_app_up",
            "1 when the app is up or degraded, 0 when down; absent while unknown or scaled to zero",
            labels=labels,
        )
        state = GaugeMetricFamily(
            "startpunkt_app_state",
            "1 for the app's current availability state; absent while unknown",
            labels=[*labels, "state"],
        )
        return up, state


class Metrics:
    def __init__(self, store: Store, registry: CollectorRegistry | None) -> None:
        self._latency = Histogram(
            "startpunkt_app_probe_latency_seconds",
            "Time until a probed URL answered (redirects included), by URL without credentials "
            "or query",
            ["url"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self._probes = Counter(
            "startpunkt_probes",
            "Availability probes by result: up, or why not",
            ["result"],
            registry=registry,
        )
        for outcome in ProbeOutcome:
            self._probes.labels(outcome.value)
        self._urls: set[str] = set()
        if registry is not None:
            registry.register(AppCollector(store))

    def observe(self, target: ProbeTarget, result: ProbeResult) -> None:
        self._probes.labels(result.outcome.value).inc()
        if result.latency is not None and result.status_code is not None:
            url = redact(target.url)
            self._latency.labels(url).observe(result.latency)
            self._urls.add(url)

    def forget(self, keep: Iterable[ProbeTarget]) -> None:
        """Drops the latency series of URLs no remaining target probes."""
        kept = {redact(t.url) for t in keep}
        for url in self._urls - kept:
            self._latency.remove(url)
        self._urls &= kept
