"""Group names fold on the page as in `/api/apps` (`casefold`): `Straße` and `STRASSE` are one."""

from __future__ import annotations

from tests.browser.htmltree import parse
from tests.browser.livesite import app_object, in_process, load, make_context


async def test_strasse_and_its_capitals_are_one_group_on_the_page_and_in_the_api() -> None:
    ctx = make_context()
    apps = [
        app_object("One", "Straße", "https://one.example"),
        app_object("Two", "STRASSE", "https://two.example"),
    ]
    load(ctx.store, apps, (), {})
    async with in_process(ctx) as client:
        api = (await client.get("/api/apps")).json()
        doc = parse((await client.get("/")).text)

    assert [(g["name"], len(g["applications"])) for g in api["groups"]] == [("Straße", 2)]
    groups = doc.find_all("details", cls="group")
    assert [g.find("h3").text() for g in groups] == ["Straße"]
    assert [c.text() for c in groups[0].find_all("span", cls="card-name")] == ["One", "Two"]
    assert groups[0].attrs["data-order"] == "strasse"
