"""Homepage's icon forms: `si-<name>` and `mdi-<name>-#rrggbb` drawn from the bundled packs;
dashboard-icons names fetched by the server, once, from a configured base URL (never by the
browser), else a letter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from startpunkt.web import icons
from tests.checking.helpers import HttpServer, Request, send
from tests.web.conftest import MakeSite, settings_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M0 0h24v24H0z"/></svg>'


@pytest.mark.parametrize(
    ("spec", "href", "color"),
    [
        ("si-github", "/icons/si/github.svg", "currentColor"),
        ("si-github-#ffffff", "/icons/si/github.svg", "#ffffff"),
        ("mdi-flask-outline", "/icons/mdi/flask-outline.svg", "currentColor"),
        ("mdi-flask-outline-#f0d453", "/icons/mdi/flask-outline.svg", "#f0d453"),
        ("MDI-Home-#ABC", "/icons/mdi/home.svg", "#ABC"),
    ],
)
def test_homepage_set_forms_are_drawn_from_the_bundled_packs(
    spec: str, href: str, color: str
) -> None:
    icon = icons.resolve(spec, "App")

    assert (icon.kind, icon.href, icon.color) == ("set", href, color)


def test_the_colour_in_the_name_wins_over_icon_color() -> None:
    assert icons.resolve("mdi-home-#f0d453", "App", "#000000").color == "#f0d453"
    assert icons.resolve("mdi-home", "App", "#000000").color == "#000000"


@pytest.mark.parametrize("spec", ["grafana.png", "grafana.svg", "Grafana.WEBP"])
def test_dashboard_icon_names_are_a_letter_unless_the_server_fetches_them(spec: str) -> None:
    off = icons.resolve(spec, "Grafana")
    on = icons.resolve(spec, "Grafana", dashboard=True)

    assert (off.kind, off.letter) == ("letter", "G")
    assert (on.kind, on.href) == ("img", "/icons/dashboard/" + spec.lower())


@pytest.mark.parametrize("spec", ["si-no-such-icon", "mdi-nope-#fff", "../x.png", "x.gif"])
def test_unknown_names_are_a_letter(spec: str) -> None:
    assert icons.resolve(spec, "Grafana", dashboard=True).kind == "letter"


async def _image(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    body = {"/dash/png/grafana.png": PNG, "/dash/svg/grafana.svg": SVG}[r.path]
    await asyncio.sleep(0.05)  # long enough for concurrent page loads to overlap
    return await send(w, r, 200, {"Content-Type": "application/octet-stream"}, body)


async def _huge(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 200, {}, PNG + b"\x00" * 4096)


async def _error_page(
    server: HttpServer, r: Request, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> bool:
    return await send(w, r, 200, {"Content-Type": "text/html"}, b"<html>oops</html>")


@pytest.fixture
async def cdn() -> AsyncIterator[HttpServer]:
    server = HttpServer(
        routes={
            "/dash/png/grafana.png": _image,
            "/dash/svg/grafana.svg": _image,
            "/dash/png/huge.png": _huge,
            "/dash/png/html.png": _error_page,
        }
    )
    await server.start()
    yield server
    await server.close()


async def test_the_server_fetches_each_icon_once_and_serves_it_itself(
    make_site: MakeSite, cdn: HttpServer
) -> None:
    site = await make_site(settings_of(web={"icons": {"dashboardIconsUrl": cdn.url("/dash/")}}))
    site.put("Grafana", icon="grafana.png")

    page = (await site.get("/")).text
    first = await asyncio.gather(*(site.get("/icons/dashboard/grafana.png") for _ in range(5)))
    again = await site.get("/icons/dashboard/grafana.png")
    svg = await site.get("/icons/dashboard/grafana.svg")

    assert 'src="/icons/dashboard/grafana.png"' in page
    assert cdn.url("/dash/") not in page  # the browser is never sent to the icon source
    for response in (*first, again):
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert len(cdn.requests("/dash/png/grafana.png")) == 1
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in svg.headers["content-security-policy"]


async def test_oversized_or_wrong_content_is_refused(make_site: MakeSite, cdn: HttpServer) -> None:
    site = await make_site(
        settings_of(web={"icons": {"dashboardIconsUrl": cdn.url("/dash"), "maxBytes": 1024}})
    )

    huge = await site.get("/icons/dashboard/huge.png")
    html = await site.get("/icons/dashboard/html.png")
    missing = await site.get("/icons/dashboard/absent.png")
    missing_again = await site.get("/icons/dashboard/absent.png")

    assert [r.status_code for r in (huge, html, missing, missing_again)] == [404] * 4
    assert len(cdn.requests("/dash/png/absent.png")) == 1  # a failure is remembered


async def test_without_a_base_url_nothing_is_fetched_and_a_letter_is_drawn(
    make_site: MakeSite, cdn: HttpServer
) -> None:
    site = await make_site()
    site.put("Grafana", icon="grafana.png")

    page = (await site.get("/")).text
    response = await site.get("/icons/dashboard/grafana.png")

    assert "/icons/dashboard/" not in page
    assert "icon-letter" in page
    assert response.status_code == 404
    assert cdn.seen == []


async def test_an_unreachable_base_url_is_a_404_not_an_error(make_site: MakeSite) -> None:
    site = await make_site(
        # the discard port: nobody listens there
        settings_of(web={"icons": {"dashboardIconsUrl": "http://127.0.0.1:9", "fetchTimeout": 2}})
    )

    assert (await site.get("/icons/dashboard/grafana.png")).status_code == 404


async def test_the_cache_is_bounded(cdn: HttpServer) -> None:
    settings = settings_of(
        web={"icons": {"dashboardIconsUrl": cdn.url("/dash"), "cacheEntries": 1}}
    )
    fetcher = icons.DashboardIcons(settings.web.icons)

    for file in ("grafana.png", "grafana.svg", "grafana.png"):
        assert await fetcher.get(file) is not None

    assert len(cdn.requests("/dash/png/grafana.png")) == 2  # evicted by the svg, fetched again
