"""`?tags=` on the stream: the page's filter applies to live updates too."""

from __future__ import annotations

from tests.web.conftest import MakeSite, Site, settings_of


async def test_a_tag_filtered_stream_gets_matching_and_untagged_apps_only(site: Site) -> None:
    async with site.stream("?tags=DEV") as events:
        await events.next()
        site.put("Ops-tool", tags=["ops"])
        site.put("Dev-tool", tags=["dev"])
        site.put("Plain")
        site.put_bookmark("Docs")
        seen = await events.changes_until(lambda e: e.event == "BOOKMARK_ADDED")

    assert [e.payload["name"] for e in seen] == ["Dev-tool", "Plain", "Docs"]


async def test_an_app_retagged_out_of_the_filter_is_removed_and_back_in_added(
    site: Site,
) -> None:
    site.put("Tool", tags=["dev"])

    async with site.stream("?tags=dev") as events:
        await events.next()
        site.put("Tool", tags=["ops"])
        gone = await events.next_change()
        site.put("Tool", tags=["ops", "dev"])
        back = await events.next_change()

    assert (gone.event, gone.id, gone.payload["key"]) == (
        "APPLICATION_REMOVED",
        "2",
        "startpunkt/default/tool",
    )
    assert (back.event, back.id, back.payload["tags"]) == ("APPLICATION_ADDED", "3", "ops,dev")


async def test_root_stream_without_show_all_gets_untagged_apps_only(make_site: MakeSite) -> None:
    site = await make_site(settings_of(web={"showAllOnRoot": False}))

    async with site.stream() as events:
        await events.next()
        site.put("Dev-tool", tags=["dev"])
        site.put("Plain")
        first = await events.next_change()

    assert first.payload["name"] == "Plain"
