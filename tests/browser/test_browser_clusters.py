"""Several clusters on one page: a badge names another cluster, a stale cluster's cards are
dimmed with the time of last contact, and a filter next to the tag chips picks clusters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from playwright.sync_api import Page, expect

from startpunkt.clusters import Clusters, ClusterState, ClusterStatus
from startpunkt.config import Settings
from startpunkt.model import Outcome
from startpunkt.store import qualified, split_source
from tests.browser.conftest import MakeLiveSite
from tests.browser.livesite import APPS, BOOKMARKS, LiveServer, app_object, bookmark_object
from tests.browser.livesite import outcome_of as mapper
from tests.browser.test_browser_live import card, open_live


def clustered(settings: Settings, show_all: bool, make_live_site: MakeLiveSite) -> LiveServer:
    settings = settings.model_copy(
        update={
            "clusters": settings.clusters.model_copy(
                update={"local": settings.clusters.local.model_copy(update={"name": "home"})}
            ),
            "web": settings.web.model_copy(update={"default_show_all_clusters": show_all}),
        }
    )
    site = make_live_site(settings, apps=(), bookmarks=())
    clusters = Clusters("home")
    clusters.add(ClusterStatus("home", "local", ""))
    clusters.add(ClusterStatus("lab", "kubeconfig", ""))
    clusters.listeners.append(site.feed.remap_cluster)
    site.clusters = clusters  # type: ignore[attr-defined]

    def stamped(source: str, obj: Mapping[str, Any]) -> Outcome | None:
        cluster, name = split_source(source)
        outcome = mapper(name, obj)
        return clusters.stamp(outcome, cluster) if outcome else None

    def fill() -> None:
        site.feed.outcome_of = stamped
        clusters.report("lab", ClusterState.SYNCED)
        site.feed.apply(APPS, "ADDED", app_object("Grafana", "Monitoring", "https://g.example"))
        lab = qualified("lab", APPS)
        site.feed.apply(lab, "ADDED", app_object("Grafana", "Monitoring", "https://g.example"))
        site.feed.apply(lab, "ADDED", app_object("Lab Only", "Lab", "https://lab.example"))
        marks = qualified("lab", BOOKMARKS)
        site.feed.apply(marks, "ADDED", bookmark_object("Lab docs", "Docs", "https://d.example"))

    site.call(fill)
    return site


def test_other_clusters_cards_carry_a_badge_and_turn_stale_in_place(
    page: Page, make_live_site: MakeLiveSite
) -> None:
    site = clustered(Settings(), True, make_live_site)
    open_live(page, site)
    grafanas = page.locator("li.card", has=page.locator(".card-name", has_text="Grafana"))
    expect(grafanas).to_have_count(2)  # the same app in two clusters is two cards
    expect(grafanas.locator(".card-cluster")).to_have_text(["lab"])  # the local one has none
    expect(page.locator(".clusterbar .chip")).to_have_text(["All clusters", "home", "lab"])

    # the lab cluster goes out of reach: its cards stay, dimmed, and say since when
    site.call(site.clusters.report, "lab", ClusterState.STALE, "ConnectError")  # type: ignore[attr-defined]
    lab_only = card(page, "Lab Only")
    expect(lab_only).to_have_attribute("data-stale", "true")
    expect(lab_only.locator(".card-cluster")).to_have_attribute(
        "title", re.compile(r"^Out of reach since 20\d\d-")
    )
    expect(card(page, "Lab docs")).to_have_attribute("data-stale", "true")

    # a fresh page shows the same
    page.reload()
    expect(card(page, "Lab Only")).to_have_attribute("data-stale", "true")
    expect(card(page, "Grafana").locator(".card-cluster")).to_have_text(["lab"])

    site.call(site.clusters.report, "lab", ClusterState.SYNCED)  # type: ignore[attr-defined]
    expect(lab_only).not_to_have_attribute("data-stale", "true")


def test_the_cluster_filter_shows_the_local_cluster_unless_told_otherwise(
    page: Page, make_live_site: MakeLiveSite
) -> None:
    site = clustered(Settings(), False, make_live_site)
    open_live(page, site)
    expect(page.locator("li.card .card-name")).to_have_text(["Grafana"])
    expect(page.locator(".clusterbar .chip[aria-current]")).to_have_text(["home"])

    # live changes respect the filter
    lab = qualified("lab", APPS)
    site.call(site.feed.apply, lab, "ADDED", app_object("Lab Two", "Lab", "https://two.example"))
    site.call(site.feed.apply, APPS, "ADDED", app_object("Home Two", "Home", "https://h.example"))
    expect(card(page, "Home Two")).to_have_count(1)
    expect(card(page, "Lab Two")).to_have_count(0)

    page.locator(".clusterbar .chip", has_text="All clusters").click()
    expect(page.locator("li.card .card-name")).to_have_count(6)
    page.locator(".clusterbar .chip", has_text="lab").click()
    expect(page.locator("#apps li.card .card-name")).to_have_text(
        ["Lab Only", "Lab Two", "Grafana"]
    )
    expect(page.locator("#bookmarks li.card .card-name")).to_have_text(["Lab docs"])
