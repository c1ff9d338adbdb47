"""Watch health as Prometheus metrics, read from the reflectors' status at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from startpunkt.clusters import ClusterState, ClusterStatus
from startpunkt.kube.reflector import ReflectorStatus
from startpunkt.shapes.status import ReflectorState


class WatchCollector(Collector):
    def __init__(self, statuses: Callable[[], Sequence[ReflectorStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        labels = ["cluster", "source", "namespace"]
        state = GaugeMetricFamily(
            "startpunkt_watch_state",
            "1 for the state each reflector is in",
            labels=[*labels, "state"],
        )
        events = CounterMetricFamily(
            "startpunkt_watch_events", "Watch events received", labels=[*labels, "type"]
        )
        reconnects = CounterMetricFamily(
            "startpunkt_watch_reconnects", "Watch reconnect attempts", labels=labels
        )
        relists = CounterMetricFamily(
            "startpunkt_watch_relists", "Relists after an expired resource version", labels=labels
        )
        last_event = GaugeMetricFamily(
            "startpunkt_watch_last_event_timestamp_seconds",
            "Unix time of the last watch event",
            labels=labels,
        )
        for status in self._statuses():
            scope = [status.cluster, status.source, status.namespace or ""]
            for candidate in ReflectorState:
                state.add_metric([*scope, candidate.value], float(status.state is candidate))
            for kind, count in sorted(status.events.items()):
                events.add_metric([*scope, kind], count)
            reconnects.add_metric(scope, status.reconnects)
            relists.add_metric(scope, status.relists)
            if status.last_event is not None:
                last_event.add_metric(scope, status.last_event)
        yield from (state, events, reconnects, relists, last_event)


class ClusterCollector(Collector):
    """Each cluster's state and time of last contact."""

    def __init__(self, statuses: Callable[[], Sequence[ClusterStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily(
            "startpunkt_cluster_state",
            "1 for the state each cluster is in",
            labels=["cluster", "kind", "state"],
        )
        contact = GaugeMetricFamily(
            "startpunkt_cluster_last_contact_timestamp_seconds",
            "Unix time each cluster was last known to be in sync",
            labels=["cluster"],
        )
        for status in self._statuses():
            for candidate in ClusterState:
                state.add_metric(
                    [status.name, status.kind, candidate.value], float(status.state is candidate)
                )
            if status.last_contact is not None:
                contact.add_metric([status.name], status.last_contact)
        yield from (state, contact)
