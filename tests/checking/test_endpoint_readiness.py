"""The second signal: ready endpoints of the backend Services, combined with the HTTP probe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from startpunkt.checking import ProbeOutcome, ProbeResult, combine, endpoint_readiness
from startpunkt.model import State
from tests.checking.helpers import Apps, HttpServer, Running
from tests.waiting import eventually


def endpoint_slice(
    service: str,
    *ready: bool | None,
    namespace: str = "default",
    name: str | None = None,
    version: str = "v1",
) -> dict[str, Any]:
    """An EndpointSlice of `service` with one endpoint per `ready` (None: condition unset)."""
    endpoints: list[dict[str, Any]] = []
    for i, flag in enumerate(ready):
        conditions = {} if flag is None else {"ready": flag}
        endpoint = {"addresses": [f"10.0.0.{i + 1}"], "conditions": conditions}
        if version == "v1beta1":
            endpoint["topology"] = {"kubernetes.io/hostname": "node-1"}
        else:
            endpoint["zone"] = "zone-a"
        endpoints.append(endpoint)
    return {
        "apiVersion": f"discovery.k8s.io/{version}",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": namespace,
            "name": name or f"{service}-abcde",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": endpoints or None,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        ((True, True), "ready"),
        ((True, False), "partial"),
        ((False, False), "none-ready"),
        ((), "empty"),
        ((None, None), "ready"),  # an unset condition means ready (API docs)
    ],
)
def test_one_service(version: str, ready: tuple[bool | None, ...], expected: str) -> None:
    slices = [endpoint_slice("web", *ready, version=version)]

    assert endpoint_readiness(slices, ["default/web"]) == expected


def test_endpoints_are_counted_over_every_slice_of_a_service() -> None:
    slices = [
        endpoint_slice("web", True, True, name="web-1"),
        endpoint_slice("web", False, name="web-2"),
    ]

    assert endpoint_readiness(slices, ["default/web"]) == "partial"


def test_slices_of_other_services_and_namespaces_do_not_count() -> None:
    slices = [
        endpoint_slice("web", False),
        endpoint_slice("web", True, namespace="staging"),
        endpoint_slice("api", True),
        {"metadata": {"namespace": "default", "name": "unlabelled"}, "endpoints": []},
    ]

    assert endpoint_readiness(slices, ["default/web"]) == "none-ready"
    assert endpoint_readiness(slices, ["default/db"]) == "unknown"
    assert endpoint_readiness(slices, []) == "unknown"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((True,), (True,), "ready"),
        ((True,), (), "partial"),  # one backend scaled to zero: the app is not whole
        ((), (), "empty"),
        ((False,), (), "none-ready"),
        ((True,), (False,), "partial"),
        ((True,), None, "ready"),  # a Service without slices is unknown, so ignored
    ],
)
def test_several_services(a: tuple[bool, ...], b: tuple[bool, ...] | None, expected: str) -> None:
    slices = [endpoint_slice("a", *a)]
    if b is not None:
        slices.append(endpoint_slice("b", *b))

    assert endpoint_readiness(slices, ["default/a", "default/b"]) == expected


UP = ProbeResult(ProbeOutcome.UP, 200, 0.012)
DOWN = ProbeResult(ProbeOutcome.CONNECTION, error="connection refused")


@pytest.mark.parametrize(
    ("result", "readiness", "state"),
    [
        (UP, "ready", State.UP),
        (UP, "partial", State.DEGRADED),
        (UP, "none-ready", State.UP),  # the probe answered; trust it
        (UP, "unknown", State.UP),
        (UP, "empty", State.SCALED_TO_ZERO),
        (DOWN, "empty", State.SCALED_TO_ZERO),  # stopped on purpose, not broken
        (DOWN, "partial", State.DOWN),
        (DOWN, "none-ready", State.DOWN),
        (DOWN, "unknown", State.DOWN),
    ],
)
def test_combine(result: ProbeResult, readiness: Any, state: State) -> None:
    availability = combine(result, readiness, 1_700_000_000.0)

    assert availability.state is state
    assert availability.status_code == result.status_code
    assert availability.error == result.error
    assert availability.last_checked == 1_700_000_000.0


def test_combine_reports_latency_in_milliseconds() -> None:
    assert combine(UP, "ready", 0.0).latency_ms == pytest.approx(12.0)
    assert combine(DOWN, "ready", 0.0).latency_ms is None


# -- with the running checker -------------------------------------------------------------


async def test_partly_ready_backends_make_an_answering_app_degraded_until_all_are_ready(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("web", True, False))
    apps.add("web", server.url("/ok"), services=["default/web"])
    running = start_checker(apps.store, interval=3600)
    await eventually(lambda: apps.state("web") == "degraded", interval=0.01)

    apps.store.apply("endpointslice", "MODIFIED", endpoint_slice("web", True, True))
    running.checker.readiness_changed()

    await eventually(lambda: apps.state("web") == "up", timeout=1.0, interval=0.01)
    assert server.count("/ok") == 1  # readiness alone changed the state, without a probe
    assert apps.statuses("web") == ["degraded", "up"]


async def test_a_service_without_endpoints_is_scaled_to_zero_even_though_the_probe_fails(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("jellyfin"))
    apps.add("jellyfin", server.url("/hang"), services=["default/jellyfin"])
    start_checker(apps.store, timeout=0.2)

    await eventually(lambda: apps.state("jellyfin") == "scaled-to-zero", interval=0.01)
    assert apps.availability("jellyfin").error == "timed out after 0.2 s"


async def test_readiness_is_re_evaluated_every_interval_without_the_hook(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("web", True))
    apps.add("web", server.url("/ok"), services=["default/web"])
    start_checker(apps.store, interval=0.2)
    await eventually(lambda: apps.state("web") == "up", interval=0.01)

    apps.store.apply("endpointslice", "MODIFIED", endpoint_slice("web"))

    await eventually(lambda: apps.state("web") == "scaled-to-zero", timeout=2, interval=0.01)


async def test_apps_sharing_a_target_combine_all_their_backend_services(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("frontend", True))
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("backend", False))
    health = server.url("/ok")
    apps.add("site", server.url("/ok?site"), health=health, services=["default/frontend"])
    apps.add("admin", server.url("/ok?admin"), health=health, services=["default/backend"])
    start_checker(apps.store)

    await eventually(lambda: apps.state("site") == "degraded", interval=0.01)
    assert apps.state("admin") == "degraded"
    assert server.count("/ok") == 1


async def test_a_new_backend_service_on_an_app_is_taken_into_account(
    apps: Apps, server: HttpServer, start_checker: Callable[..., Running]
) -> None:
    apps.store.apply("endpointslice", "ADDED", endpoint_slice("web"))
    apps.add("web", server.url("/ok"))
    start_checker(apps.store, interval=3600)
    await eventually(lambda: apps.state("web") == "up", interval=0.01)

    apps.add("web", server.url("/ok"), services=["default/web"])  # the app now names its Service

    await eventually(lambda: apps.state("web") == "scaled-to-zero", timeout=1, interval=0.01)
