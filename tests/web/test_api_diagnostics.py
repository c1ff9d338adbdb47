"""`/api/diagnostics` says what every object became and why; `/api/sources` the watch health."""

from __future__ import annotations

from startpunkt.backend import WatchStatus
from tests.web.conftest import Site, source_status


async def test_every_object_is_listed_with_its_verdict_reason_and_urls(site: Site) -> None:
    site.put("Shown")
    site.put("Hidden", hide="not annotated")
    site.put("Broken", reject="spec.group is missing")

    body = (await site.get("/api/diagnostics")).json()

    assert body == {
        "objects": [
            {
                "source": None,
                "kind": "Application",
                "namespace": "default",
                "name": "broken",
                "verdict": "rejected",
                "reason": "spec.group is missing",
                "notes": [],
                "urls": [],
                "items": [],
            },
            {
                "source": "startpunkt",
                "kind": "Application",
                "namespace": "default",
                "name": "hidden",
                "verdict": "hidden",
                "reason": "not annotated",
                "notes": [],
                "urls": ["https://hidden.example"],
                "items": [],
            },
            {
                "source": "startpunkt",
                "kind": "Application",
                "namespace": "default",
                "name": "shown",
                "verdict": "shown",
                "reason": None,
                "notes": [],
                "urls": ["https://shown.example"],
                "items": ["startpunkt/default/shown"],
            },
        ]
    }


async def test_diagnostics_filter_by_verdict(site: Site) -> None:
    site.put("Shown")
    site.put("Broken", reject="bad")

    body = (await site.get("/api/diagnostics?verdict=rejected")).json()
    bad = await site.get("/api/diagnostics?verdict=broken")

    assert [o["name"] for o in body["objects"]] == ["broken"]
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "verdict: unknown broken; use any of hidden, rejected, shown",
        "status": 400,
    }


async def test_sources_reports_the_runtime_status(site: Site) -> None:
    ingress = source_status("ingress", "synced", relists=2)
    site.backend.value = WatchStatus(watching=True, ready=True, sources=(ingress,))

    response = await site.get("/api/sources")

    assert response.json() == {
        "watching": True,
        "ready": True,
        "sources": [
            {
                "source": "ingress",
                "kind": "ingress",
                "namespace": None,
                "state": "synced",
                "synced": True,
                "apiVersion": None,
                "resourceVersion": None,
                "lastEvent": None,
                "lastError": None,
                "reconnects": 0,
                "relists": 2,
                "events": {},
            }
        ],
    }
