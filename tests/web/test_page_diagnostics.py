"""`/diagnostics` answers "why is my app not shown?" for every object Startpunkt looked at."""

from __future__ import annotations

from tests.browser.htmltree import Node, parse
from tests.browser.livesite import app_object, in_process, load, make_context


def row_for(doc: Node, name: str) -> Node:
    for row in doc.find("table").find_all("tr"):
        if row.find_all("span", cls="obj-name") and row.find(
            "span", cls="obj-name"
        ).text().endswith(f"/{name}"):
            return row
    raise AssertionError(f"no row for {name}")


async def page(path: str = "/diagnostics") -> Node:
    ctx = make_context()
    load(
        ctx.store,
        [
            app_object("Shown", "g", "https://shown.example"),
            app_object("Off", "g", "https://off.example", enabled=False),
            app_object("", "g", "https://bad.example", resource="nameless"),
            app_object("<b>Odd</b>", "g", "javascript:alert(1)", resource="odd"),
        ],
        (),
        {},
    )
    async with in_process(ctx) as client:
        response = await client.get(path)
    assert response.status_code == 200
    return parse(response.text)


async def test_every_candidate_is_listed_with_its_verdict_reason_and_url() -> None:
    doc = await page()
    shown = row_for(doc, "shown")
    assert shown.find("span", cls="verdict").text() == "Shown"
    assert shown.find("a").attrs["href"] == "https://shown.example"
    off = row_for(doc, "off")
    assert off.find("span", cls="verdict").text() == "Hidden"
    assert "spec.enabled is false" in off.text()
    # a hidden object still tells which URL it would have had
    assert off.find("a").attrs["href"] == "https://off.example"
    bad = row_for(doc, "nameless")
    assert bad.find("span", cls="verdict").text() == "Rejected"
    assert "spec.name is missing" in bad.text()
    assert "1 hidden" in doc.find("p", cls="summary").text()


async def test_odd_values_are_text_and_odd_urls_are_not_links() -> None:
    doc = await page()
    odd = row_for(doc, "odd")
    assert "<b>Odd</b>" in odd.text()
    assert not odd.find_all("a")
    assert odd.find("code").text() == "javascript:alert(1)"


async def test_the_list_filters_by_verdict() -> None:
    doc = await page("/diagnostics?verdict=rejected")
    rows = doc.find("tbody").find_all("tr")
    assert len(rows) == 1
    assert row_for(doc, "nameless")
    current = doc.find("nav", cls="tagbar").find("a", aria_current="page")
    assert current.attrs["href"] == "/diagnostics?verdict=rejected"


async def test_an_empty_store_says_so() -> None:
    async with in_process(make_context()) as client:
        doc = parse((await client.get("/diagnostics")).text)
    assert doc.find("p", cls="empty").text().startswith("Startpunkt has not seen")


async def test_the_start_page_links_here() -> None:
    async with in_process(make_context()) as client:
        doc = parse((await client.get("/")).text)
    assert doc.find("footer").find("a", href="/diagnostics")


async def test_object_names_from_a_manifest_file_cannot_reorder_the_row() -> None:
    ctx = make_context()
    spoof = "bank-\u202eelgoog\u202c"
    load(ctx.store, [app_object("Bank", "g", "https://bank.example", resource=spoof)], (), {})
    async with in_process(ctx) as client:
        html = (await client.get("/diagnostics")).text
    assert "\u202e" not in html
    assert row_for(parse(html), "bank-elgoog")
