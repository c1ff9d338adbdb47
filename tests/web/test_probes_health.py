"""`/livez`, `/readyz` and `/metrics`."""

from __future__ import annotations

from startpunkt.backend import WatchStatus
from tests.web.conftest import MakeSite, Site, source_status


async def test_livez_answers_even_when_nothing_is_synced(make_site: MakeSite) -> None:
    site = await make_site(ready=lambda: False)

    response = await site.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_503_naming_the_sources_not_synced(make_site: MakeSite) -> None:
    ready = False
    site = await make_site(ready=lambda: ready)
    site.backend.value = WatchStatus(
        watching=True,
        ready=False,
        sources=(
            source_status("ingress", "synced"),
            # listed, then its CRD went away
            source_status("route", "absent", synced=True),
            source_status("startpunkt", "syncing", "apps"),
            source_status("hajimari", "forbidden"),
        ),
    )

    waiting = await site.get("/readyz")
    ready = True
    done = await site.get("/readyz")

    assert waiting.status_code == 503
    assert waiting.json()["error"] == (
        "not ready: waiting for the first sync of hajimari, startpunkt in apps"
    )
    assert waiting.json()["notSynced"] == ["hajimari", "startpunkt in apps"]
    assert waiting.json()["sources"] == site.backend.value.as_json()
    assert waiting.json()["status"] == 503
    assert done.status_code == 200
    assert done.json()["status"] == "ready"


async def test_metrics_count_requests_by_route_template_and_streams(site: Site) -> None:
    site.put("Grafana", "Monitoring")
    await site.get("/api/apps/Monitoring/grafana")
    await site.get("/api/apps/Monitoring/nope")
    await site.get("/api/no/such/thing")

    async with site.stream():
        await site.stream_ready(1)
        text = (await site.get("/metrics")).text

    assert text.startswith("# HELP")
    assert (
        'startpunkt_http_requests_total{route="/api/apps/{group}/{name}",status="200"} 1.0' in text
    )
    assert (
        'startpunkt_http_requests_total{route="/api/apps/{group}/{name}",status="404"} 1.0' in text
    )
    assert 'startpunkt_http_requests_total{route="/api/{path:path}",status="404"} 1.0' in text
    assert "startpunkt_stream_clients 1.0" in text
    assert "startpunkt_events_broadcast_total 1.0" in text
    assert 'startpunkt_stream_cutoffs_total{reason="stalled"} 0.0' in text
