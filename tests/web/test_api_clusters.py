"""`?cluster=` on the REST API, the cluster in each item, and `?tags=*` (every app, which a
following instance asks for whatever the other's `web.showAllOnRoot` says)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.clusters import Clusters
from startpunkt.model import Outcome
from startpunkt.store import qualified, split_source
from tests.web.conftest import (
    APPS,
    BOOKMARKS,
    MakeSite,
    Site,
    app_object,
    bookmark_object,
    settings_of,
)
from tests.web.conftest import outcome_of as plain_mapper


def with_clusters(site: Site) -> None:
    clusters = Clusters("home")

    def stamped(source: str, obj: Mapping[str, Any]) -> Outcome | None:
        cluster, name = split_source(source)
        outcome = plain_mapper(name, obj)
        return clusters.stamp(outcome, cluster) if outcome else None

    site.feed.outcome_of = stamped
    site.feed.apply(APPS, "ADDED", app_object("Home"))
    site.feed.apply(qualified("lab", APPS), "ADDED", app_object("Lab", tags=["x"]))
    site.feed.apply(qualified("lab", BOOKMARKS), "ADDED", bookmark_object("Docs"))


def names(body: dict[str, Any], member: str = "applications") -> list[tuple[str, str]]:
    return [(i["cluster"], i["name"]) for g in body["groups"] for i in g[member]]


async def test_items_name_their_cluster_and_can_be_filtered_by_it(site: Site) -> None:
    with_clusters(site)

    assert names((await site.get("/api/apps")).json()) == [("home", "Home"), ("lab", "Lab")]
    assert names((await site.get("/api/apps?cluster=lab")).json()) == [("lab", "Lab")]
    assert names((await site.get("/api/apps?cluster=home,lab")).json()) == [
        ("home", "Home"),
        ("lab", "Lab"),
    ]
    marks = (await site.get("/api/bookmarks?cluster=home")).json()
    assert names(marks, "bookmarks") == []
    marks = (await site.get("/api/bookmarks?cluster=lab")).json()
    assert names(marks, "bookmarks") == [("lab", "Docs")]
    too_long = await site.get("/api/bookmarks", params={"cluster": "x" * 2000})
    assert too_long.status_code == 400
    assert "cluster: at most" in too_long.json()["error"]


async def test_a_star_asks_for_every_app_whatever_the_root_shows(make_site: MakeSite) -> None:
    site = await make_site(settings_of(web={"showAllOnRoot": False}))
    with_clusters(site)

    assert names((await site.get("/api/apps")).json()) == [("home", "Home")]  # untagged only
    assert names((await site.get("/api/apps?tags=*")).json()) == [
        ("home", "Home"),
        ("lab", "Lab"),
    ]


async def test_diagnostics_name_each_objects_cluster(site: Site) -> None:
    with_clusters(site)

    objects = (await site.get("/api/diagnostics")).json()["objects"]
    assert sorted((o["cluster"], o["name"]) for o in objects) == [
        ("home", "home"),
        ("lab", "docs"),
        ("lab", "lab"),
    ]
