"""The second signal: Kubernetes readiness of the Services behind an app.

Read from the EndpointSlices already in the store (no API calls), then combined with the HTTP
verdict: an app whose backends are partly ready is degraded, one whose Services have no
endpoints at all is scaled to zero (intentional, so not shown as down).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from startpunkt.checking.probing import ProbeResult
from startpunkt.model import Availability, State
from startpunkt.shapes.kube import KubeObject

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Readiness = Literal["ready", "partial", "none-ready", "empty", "unknown"]


def service_of(endpoint_slice: KubeObject) -> str | None:
    """`namespace/name` of the Service an EndpointSlice belongs to."""
    meta = endpoint_slice.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    labels = meta.get("labels")
    name = labels.get(SERVICE_NAME_LABEL) if isinstance(labels, Mapping) else None
    namespace = meta.get("namespace")
    if not isinstance(name, str) or not name or not isinstance(namespace, str):
        return None
    return f"{namespace}/{name}"


def endpoint_readiness(slices: Iterable[KubeObject], services: Iterable[str]) -> Readiness:
    """How ready the endpoints of `services` ("namespace/name") are.

    Reads discovery.k8s.io/v1 and v1beta1 EndpointSlices alike (`endpoints[].conditions.ready`,
    where a missing value means ready, as the API documents). Per Service: every endpoint ready
    is "ready", some is "partial", none is "none-ready", no endpoints is "empty"; a Service with
    no slice at all is "unknown" and ignored. Over several Services: "ready" or "empty" only
    when all agree, "none-ready" when nothing is ready, otherwise "partial".
    """
    wanted = set(services)
    counts: dict[str, tuple[int, int]] = {}  # service -> (endpoints, ready endpoints)
    for endpoint_slice in slices:
        service = service_of(endpoint_slice)
        if service is None or service not in wanted:
            continue
        total, ready = counts.get(service, (0, 0))
        endpoints = endpoint_slice.get("endpoints")
        for endpoint in endpoints if isinstance(endpoints, list) else ():
            total += 1
            ready += _is_ready(endpoint)
        counts[service] = (total, ready)
    verdicts = {_verdict(total, ready) for total, ready in counts.values()}
    if not verdicts:
        return "unknown"
    if len(verdicts) == 1:
        return verdicts.pop()
    if verdicts <= {"none-ready", "empty"}:
        return "none-ready"
    return "partial"


def combine(result: ProbeResult, readiness: Readiness, checked_at: float) -> Availability:
    """The app's availability from the HTTP probe and the endpoint readiness."""
    state = result.state
    if readiness == "empty":
        state = State.SCALED_TO_ZERO  # even when the probe fails: nothing is meant to answer
    elif readiness == "partial" and state is State.UP:
        state = State.DEGRADED
    latency_ms = result.latency * 1000 if result.latency is not None else None
    return Availability(state, result.status_code, latency_ms, checked_at, result.error)


def _is_ready(endpoint: Any) -> bool:
    conditions = endpoint.get("conditions") if isinstance(endpoint, Mapping) else None
    ready = conditions.get("ready") if isinstance(conditions, Mapping) else None
    return ready is not False


def _verdict(total: int, ready: int) -> Readiness:
    if total == 0:
        return "empty"
    if ready == total:
        return "ready"
    if ready == 0:
        return "none-ready"
    return "partial"
