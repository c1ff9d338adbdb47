"""/api/openapi.json describes what the server really sends: responses are validated against it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import ValidationError
from starlette.routing import Route

from startpunkt.backend import WatchStatus
from startpunkt.model import Availability, State
from startpunkt.store import probe_target
from tests.openapicontract import Contract
from tests.web.conftest import MakeSite, Site, source_status


@pytest.fixture
async def contract(site: Site) -> Contract:
    response = await site.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["version"] == "1.2.3"
    return Contract(doc)


def fill(site: Site) -> None:
    [change] = site.put("Grafana", "Monitoring", info="Dashboards", icon="mdi:x", tags=["ops"])
    set_state(site, change.item, State.UP)
    site.put("Plain", "Tools", location=3)
    site.put("Hidden", hide="not annotated")
    site.put("Broken", reject="bad spec")
    site.put_bookmark("Docs", "Reading", info="Read me")
    synced = source_status("x", "synced")
    site.backend.value = WatchStatus(watching=True, ready=True, sources=(synced,))


def set_state(site: Site, app: Any, state: State) -> None:
    target = probe_target(app)
    assert target is not None
    site.feed.set_availability(target, Availability(state, 200, 12.5, 1_700_000_000.0))


CASES = [
    ("/api/apps", "/api/apps", 200),
    ("/api/apps?tags=ops", "/api/apps", 200),
    ("/api/apps/ops", "/api/apps/{tags}", 200),
    ("/api/apps?tags=" + ",".join(f"t{i}" for i in range(70)), "/api/apps", 400),
    ("/api/apps/Monitoring/Grafana", "/api/apps/{group}/{name}", 200),
    ("/api/apps/Monitoring/nope", "/api/apps/{group}/{name}", 404),
    ("/api/bookmarks", "/api/bookmarks", 200),
    ("/api/config", "/api/config", 200),
    ("/api/theme", "/api/theme", 200),
    ("/api/i8n", "/api/i8n", 200),
    ("/api/i8n/sv-SE", "/api/i8n/{language}", 200),
    ("/api/i8n/bad", "/api/i8n/{language}", 400),
    ("/api/diagnostics", "/api/diagnostics", 200),
    ("/api/diagnostics?verdict=nope", "/api/diagnostics", 400),
    ("/api/sources", "/api/sources", 200),
    ("/livez", "/livez", 200),
    ("/readyz", "/readyz", 200),
]


async def test_every_response_matches_the_document(site: Site, contract: Contract) -> None:
    fill(site)
    for url, template, status in CASES:
        response = await site.get(url)
        assert response.status_code == status, url
        contract.check(contract.response_schema(template, status), response.json())


async def test_errors_match_the_error_schema(make_site: MakeSite, contract: Contract) -> None:
    site = await make_site(ready=lambda: False)
    syncing = source_status("x", "syncing")
    site.backend.value = WatchStatus(watching=True, ready=False, sources=(syncing,))
    for url, status in (("/readyz", 503), ("/api/nope", 404)):
        response = await site.get(url)
        assert response.status_code == status
        contract.check(contract.component("Error"), response.json())


async def test_stream_events_match_the_document(site: Site, contract: Contract) -> None:
    async with site.stream() as events:
        await site.stream_ready(1)
        seen = [await events.next()]
        fill(site)
        seen += await events.changes_until(lambda e: e.event == "BOOKMARK_ADDED")
        set_state(site, site.ctx.catalog.snapshot().applications[0], State.DOWN)
        seen += await events.changes_until(lambda e: e.event == "STATUS_CHANGED")
        # one step at a time: a backlog is coalesced per item (ADDED + UPDATED = ADDED)
        site.put("Plain", "Tools", location=4)
        seen += await events.changes_until(lambda e: e.event == "APPLICATION_UPDATED")
        site.remove("Plain")
        seen += await events.changes_until(lambda e: e.event == "APPLICATION_REMOVED")
        site.put_bookmark("Docs", "Reading", info="changed")
        seen += await events.changes_until(lambda e: e.event == "BOOKMARK_UPDATED")
    types = {e.event for e in seen}
    assert {"HEARTBEAT", "APPLICATION_ADDED", "STATUS_CHANGED", "APPLICATION_UPDATED"} <= types
    assert {"APPLICATION_REMOVED", "BOOKMARK_ADDED", "BOOKMARK_UPDATED"} <= types
    for event in seen:
        contract.check(contract.component("StreamEvent"), event.envelope)
        assert event.envelope["type"] == event.event


async def test_every_api_route_is_documented(site: Site, contract: Contract) -> None:
    app = site.server.config.app
    served = {
        route.path
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and re.match(r"^/(api/|livez|readyz|metrics)", route.path)
    }
    served -= {"/api/{path:path}"}

    assert served == set(contract.doc["paths"])


async def test_the_verdict_parameter_admits_exactly_what_the_server_accepts(
    site: Site, contract: Contract
) -> None:
    operation = contract.doc["paths"]["/api/diagnostics"]["get"]
    [verdict] = [p for p in operation["parameters"] if p["name"] == "verdict"]
    # comma-separated values are a form-style array without explode in OpenAPI
    assert (verdict["in"], verdict["style"], verdict["explode"]) == ("query", "form", False)
    for value in ("shown", "hidden", "rejected"):
        contract.check(verdict["schema"], [value])
        assert (await site.get(f"/api/diagnostics?verdict={value}")).status_code == 200
    contract.check(verdict["schema"], ["shown", "rejected"])
    with pytest.raises(ValidationError):
        contract.check(verdict["schema"], ["visible"])
    assert (await site.get("/api/diagnostics?verdict=visible")).status_code == 400
