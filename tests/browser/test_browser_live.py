"""Changes in the store reach an open page without a reload, in place and in order."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from startpunkt.model import State
from tests.browser.conftest import MakeLiveSite
from tests.browser.livesite import (
    APPS,
    BOOKMARKS,
    EXAMPLE_APPS,
    LiveServer,
    app_object,
    availability,
    bookmark_object,
    load,
    target_of,
)

# The live page next to the page as the server renders it now: every card and every group
# node for node (isEqualNode, as the page compares), with a readable diff for each that is not.
SAME_AS_SERVER = """async () => {
  const describe = (n) => n.nodeType === 3 ? JSON.stringify(n.data)
    : n.nodeName + Array.from(n.attributes).map(a => `[${a.name}=${a.value}]`).sort().join('')
      + '{' + Array.from(n.childNodes).map(describe).join(',') + '}';
  const response = await fetch(location.pathname + location.search);
  const server = new DOMParser().parseFromString(await response.text(), "text/html");
  const diffs = [];
  let cards = 0;
  for (const kind of ["app", "bookmark"]) {
    const groups = (doc) => Array.from(
      doc.querySelectorAll(`.groups[data-kind="${kind}"] > details.group`));
    const mine = groups(document);
    const theirs = groups(server);
    if (mine.length !== theirs.length) {
      diffs.push(`${kind}: ${mine.length} groups on the page, ${theirs.length} on the server's`);
    }
    theirs.forEach((group, i) => {
      cards += group.querySelectorAll("li.card").length;
      if (!mine[i] || !mine[i].isEqualNode(group)) {
        diffs.push((mine[i] ? describe(mine[i]) : "(none)") + "\\n!=\\n" + describe(group));
      }
    });
  }
  for (const id of ["apps", "bookmarks"]) {
    if (document.getElementById(id).hidden !== server.getElementById(id).hidden) {
      diffs.push(`#${id} hidden differs`);
    }
  }
  return { cards, diffs };
}"""


def assert_same_as_server(page: Page) -> int:
    """The live page's cards and groups equal the server's rendering; returns the cards seen."""
    found = page.evaluate(SAME_AS_SERVER)
    assert found["diffs"] == [], "\n\n".join(found["diffs"])
    return int(found["cards"])


def open_live(page: Page, site: LiveServer, path: str = "/") -> None:
    page.goto(site.url + path)
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sameDocument") is True


def card(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("li.card", has=page.locator(".card-name", has_text=name))


def test_an_added_app_appears_in_its_group_in_sorted_order(
    page: Page, live_site: LiveServer
) -> None:
    open_live(page, live_site)
    new = app_object("Bazarr", "Media", "https://bazarr.example.com", icon="mdi:subtitles")
    live_site.call(live_site.store.apply, APPS, "ADDED", new)
    media = page.locator("details.group", has=page.locator("h3", has_text="Media"))
    expect(media.locator(".card-name")).to_have_text(["Bazarr", "Jellyfin", "Radarr", "Sonarr"])
    expect(media.locator(".group-count")).to_have_text("4")
    assert_not_reloaded(page)


def test_an_app_in_a_new_group_creates_the_group_in_alphabetical_place(
    page: Page, live_site: LiveServer
) -> None:
    open_live(page, live_site)
    new = app_object("Frigate", "Cameras", "https://frigate.example.com")
    live_site.call(live_site.store.apply, APPS, "ADDED", new)
    titles = page.locator('.groups[data-kind="app"] h3.group-title')
    expect(titles).to_have_text(["Cameras", "Home", "Media", "Monitoring", "Platform", "Utilities"])
    live_site.call(live_site.store.apply, APPS, "DELETED", new)
    expect(titles).to_have_text(["Home", "Media", "Monitoring", "Platform", "Utilities"])
    assert_not_reloaded(page)


def test_an_updated_app_changes_in_place_and_moves_group(page: Page, live_site: LiveServer) -> None:
    open_live(page, live_site)
    changed = app_object(
        "Grafana", "Platform", "https://grafana.example.com", info="Now with more graphs"
    )
    live_site.call(live_site.store.apply, APPS, "MODIFIED", changed)
    grafana = card(page, "Grafana")
    expect(grafana.locator(".card-info")).to_have_text("Now with more graphs")
    expect(grafana.locator("xpath=ancestor::details//h3")).to_have_text("Platform")
    expect(card(page, "Grafana")).to_have_count(1)
    monitoring = page.locator("details.group", has=page.locator("h3", has_text="Monitoring"))
    expect(monitoring.locator(".group-count")).to_have_text("3")
    assert_not_reloaded(page)


def test_a_removed_app_disappears(page: Page, live_site: LiveServer) -> None:
    open_live(page, live_site)
    sonarr = next(o for o in EXAMPLE_APPS if o["spec"]["name"] == "Sonarr")
    live_site.call(live_site.store.apply, APPS, "DELETED", sonarr)
    expect(card(page, "Sonarr")).to_have_count(0)
    expect(card(page, "Radarr")).to_have_count(1)
    assert_not_reloaded(page)


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (State.DOWN, "Down"),
        (State.DEGRADED, "Degraded"),
        (State.SCALED_TO_ZERO, "Scaled to zero"),
        (State.UP, "Up"),
    ],
)
def test_a_status_change_flips_the_badge_and_keeps_the_link(
    page: Page, live_site: LiveServer, state: State, text: str
) -> None:
    open_live(page, live_site)
    target = target_of(live_site.store, "IT Tools")
    live_site.call(live_site.store.set_availability, target, availability(state))
    tools = card(page, "IT Tools")
    expect(tools).to_have_attribute("data-status", state.value)
    expect(tools.locator(".badge")).to_have_class(f"badge badge-{state.value}")
    expect(tools.locator(".badge-text")).to_have_text(text)
    expect(tools.locator("a.card-link")).to_have_attribute("href", "https://tools.example.com")
    assert_not_reloaded(page)


def test_bookmarks_are_live_too(page: Page, live_site: LiveServer) -> None:
    open_live(page, live_site)
    mark = bookmark_object("Python docs", "Documentation", "https://docs.python.org/3/")
    live_site.call(live_site.store.apply, BOOKMARKS, "ADDED", mark)
    docs = page.locator("details.group", has=page.locator("h3", has_text="Documentation"))
    expect(docs.locator(".card-name")).to_have_text(
        ["Kubernetes docs", "Python docs", "Startpunkt"]
    )
    live_site.call(live_site.store.apply, BOOKMARKS, "DELETED", mark)
    expect(docs.locator(".card-name")).to_have_text(["Kubernetes docs", "Startpunkt"])


def test_cards_built_by_the_script_are_identical_to_the_servers(
    page: Page, make_live_site: MakeLiveSite
) -> None:
    # every card arrives live on an empty page: added, then its status changes
    site = make_live_site(apps=[], bookmarks=[])
    open_live(page, site)
    expect(page.locator(".empty-state")).to_be_visible()
    site.call(load, site.store)
    expect(page.locator("li.card")).to_have_count(23)
    expect(card(page, "Prometheus").locator(".badge-text")).to_have_text("Down")
    assert assert_same_as_server(page) == 23
    expect(page.locator(".empty-state")).to_be_hidden()
    # and updated: another group, another icon, a status the badge shows with its details
    changed = app_object("Grafana", "Straße", "https://grafana.example.com", icon="si:grafana")
    site.call(site.store.apply, APPS, "MODIFIED", changed)
    site.call(site.store.set_availability, target_of(site.store, "Grafana"), availability(State.UP))
    expect(card(page, "Grafana").locator("xpath=ancestor::details//h3")).to_have_text("Straße")
    assert assert_same_as_server(page) == 23
    assert_not_reloaded(page)


def test_groups_fold_as_the_api_does(page: Page, make_live_site: MakeLiveSite) -> None:
    site = make_live_site(apps=[app_object("One", "Straße", "https://one.example")], bookmarks=[])
    open_live(page, site)
    two = app_object("Two", "STRASSE", "https://two.example")
    site.call(site.store.apply, APPS, "ADDED", two)
    groups = page.locator('.groups[data-kind="app"] details.group')
    expect(groups.locator(".card-name")).to_have_text(["One", "Two"])
    expect(groups).to_have_count(1)
    api = page.evaluate("fetch('/api/apps').then(r => r.json())")
    assert [g["name"] for g in api["groups"]] == ["Straße"]
    assert assert_same_as_server(page) == 2


def test_events_missed_between_render_and_connect_are_replayed(
    page: Page, live_site: LiveServer
) -> None:
    # the page is rendered, then the store changes before the script connects
    page.route(
        "**/statics/app.js*",
        lambda route: (
            live_site.call(
                live_site.store.apply,
                APPS,
                "ADDED",
                app_object("Latecomer", "Utilities", "https://late.example.com"),
            ),
            route.continue_(),
        ),
    )
    open_live(page, live_site)
    expect(card(page, "Latecomer")).to_have_count(1)


def test_a_resync_refetches_and_rerenders_everything(page: Page, live_site: LiveServer) -> None:
    open_live(page, live_site)
    replacement = [app_object("Solo", "Only", "https://solo.example.com")]
    # a quiet replace (a first sync after a restart of the source) emits a single RESYNC
    live_site.call(lambda: live_site.store.replace(APPS, replacement, quiet=True))
    titles = page.locator('.groups[data-kind="app"] h3.group-title')
    expect(titles).to_have_text(["Only"])
    expect(page.locator('.groups[data-kind="app"] .card-name')).to_have_text(["Solo"])
    expect(page.locator('.groups[data-kind="bookmark"] .card-name')).to_have_count(4)
    assert_not_reloaded(page)


def test_the_heartbeat_is_noticed(page: Page, make_live_site) -> None:  # type: ignore[no-untyped-def]
    from startpunkt.config import Realtime, Settings  # noqa: PLC0415

    site = make_live_site(Settings(realtime=Realtime(heartbeat_interval=0.3)))
    open_live(page, site)
    first = page.evaluate("window.Startpunkt.lastHeartbeat")
    deadline = time.monotonic() + 10
    while page.evaluate("window.Startpunkt.lastHeartbeat") == first:
        assert time.monotonic() < deadline, "no heartbeat arrived"
        page.wait_for_timeout(100)


def test_a_tag_nobody_used_before_gets_a_chip_like_the_servers(
    page: Page, live_site: LiveServer
) -> None:
    open_live(page, live_site)
    chips = page.locator("nav.tagbar a.chip:not(.chip-all)")
    before = chips.all_inner_texts()
    assert "#zebra" not in before
    new = app_object("Zoo", "Media", "https://zoo.example.com", tags="Zebra")
    live_site.call(live_site.store.apply, APPS, "ADDED", new)
    expect(page.locator("nav.tagbar a.chip", has_text="Zebra")).to_have_attribute("href", "/zebra")
    live = chips.all_inner_texts()
    assert live == sorted(live, key=lambda text: text.lstrip("#").casefold())
    assert_not_reloaded(page)
    page.reload()
    assert chips.all_inner_texts() == live  # what the server renders for the same state
