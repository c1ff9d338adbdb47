"""Tag paths (`/a,b`) and `?tags=` filter like the API; the chip bar lists every tag."""

from __future__ import annotations

import httpx
import pytest

from startpunkt.config import Settings, Web
from tests.browser.htmltree import parse
from tests.browser.livesite import app_object, in_process, load, make_context

APPS = [
    app_object("Admin", "g", "https://admin.example", tags="admin"),
    app_object("Dev", "g", "https://dev.example", tags="Dev"),
    app_object("Both", "g", "https://both.example", tags="admin,dev"),
    app_object("Plain", "g", "https://plain.example"),
]


async def names(path: str, show_all_on_root: bool = True) -> set[str]:
    ctx = make_context(Settings(web=Web(show_all_on_root=show_all_on_root)))
    load(ctx, APPS, (), {})
    async with in_process(ctx) as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    doc = parse(response.text)
    return {n.text() for n in doc.find_all("span", cls="card-name")}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", {"Admin", "Dev", "Both", "Plain"}),
        ("/admin", {"Admin", "Both", "Plain"}),
        ("/DEV", {"Dev", "Both", "Plain"}),
        ("/admin,dev", {"Admin", "Dev", "Both", "Plain"}),
        ("/%20admin%20,", {"Admin", "Both", "Plain"}),
        ("/nosuchtag", {"Plain"}),
        ("/?tags=dev", {"Dev", "Both", "Plain"}),
        ("/admin?tags=dev", {"Admin", "Dev", "Both", "Plain"}),
    ],
)
async def test_tag_paths_and_queries_filter_like_the_api(path: str, expected: set[str]) -> None:
    assert await names(path) == expected


async def test_without_show_all_on_root_the_root_shows_only_untagged_apps() -> None:
    assert await names("/", show_all_on_root=False) == {"Plain"}
    assert await names("/admin", show_all_on_root=False) == {"Admin", "Both", "Plain"}


async def test_the_chip_bar_lists_every_tag_as_a_link_that_toggles_it() -> None:
    ctx = make_context()
    load(ctx, APPS, (), {})
    async with in_process(ctx) as client:
        doc = parse((await client.get("/admin")).text)
    bar = doc.find("nav", cls="tagbar")
    chips = {a.text().lstrip("#").split(" (")[0]: a for a in bar.find_all("a", cls="chip")}
    # one chip per tag, compared case-insensitively ("Both" spells it "dev" first)
    assert set(chips) == {"All", "admin", "dev"}
    assert chips["All"].attrs["href"] == "/"
    assert chips["admin"].attrs["href"] == "/"  # selected: the link removes it
    assert chips["admin"].attrs.get("aria-current") == "true"
    assert chips["dev"].attrs["href"] == "/admin,dev"
    assert "aria-current" not in chips["dev"].attrs


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api", "application/json"),
        ("/api/apps", "application/json"),
        ("/livez", None),
        ("/readyz", None),
        ("/metrics", "text/plain"),
        ("/diagnostics", "text/html"),
        ("/statics/app.js", "javascript"),
        ("/statics/app.css", "text/css"),
        ("/icons/mdi/home.svg", "image/svg+xml"),
        ("/theme.css", "text/css"),
    ],
)
async def test_tag_paths_never_capture_the_other_routes(
    path: str, content_type: str | None
) -> None:
    ctx = make_context()
    load(ctx, APPS, (), {})
    async with in_process(ctx) as client:
        response = await client.get(path)
    assert 'aria-label="Filter by tag"' not in response.text
    if content_type is not None:
        assert content_type in response.headers["content-type"]


@pytest.mark.parametrize("path", ["/statics", "/icons", "/favicon.ico", "/robots.txt"])
async def test_reserved_names_are_not_tags(path: str) -> None:
    async with in_process(make_context()) as client:
        response: httpx.Response = await client.get(path)
    assert response.status_code == 404
