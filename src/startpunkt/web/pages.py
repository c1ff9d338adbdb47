"""The server-rendered start page, the diagnostics page, icons and the theme stylesheet.

Everything here works without JavaScript: the page is complete HTML, groups collapse with
`<details>`, tags are links. `statics/app.js` (native ES modules, no build step) adds live
updates, search and settings on top; the cards of live updates are rendered here too
(`web.fragments`), so the script renders none.
Every page goes out with a strict Content-Security-Policy (no inline script or style), so the
names and descriptions that come from cluster objects can never run code even if escaping were
ever got wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from startpunkt import __version__
from startpunkt.model import Item
from startpunkt.web import icons, theme, translations, views
from startpunkt.web.audiences import Views
from startpunkt.web.context import WebContext
from startpunkt.web.params import BadParameter, echoed_path, tag_filter
from startpunkt.web.translations import Translator

HERE = Path(__file__).parent

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# an SVG opened on its own must not run anything either
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

# first path segments that are never a tag list
RESERVED = frozenset(
    {
        "api",
        "statics",
        "icons",
        "livez",
        "readyz",
        "metrics",
        "diagnostics",
        "theme.css",
        "favicon.ico",
        "robots.txt",
        "q",
    }
)
COOKIE_AGE = 365 * 24 * 3600
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
templates.filters["fold"] = views.fold


def _language(request: Request, ctx: WebContext) -> tuple[str, str | None]:
    """The language to render in, and the value to store in the cookie (if `?lang=` asked)."""
    asked = request.query_params.get("lang")
    chosen = translations.choose(
        asked,
        request.cookies.get(translations.COOKIE),
        request.headers.get("accept-language"),
        ctx.settings.default_language,
    )
    return chosen, chosen if asked else None


def _render(
    request: Request,
    ctx: WebContext,
    template: str,
    status_code: int = 200,
    diagnostics_link: bool = True,
    **values: Any,
) -> HTMLResponse:
    language, remember = _language(request, ctx)
    t = Translator(language)
    web = ctx.settings.web
    html = templates.get_template(template).render(
        t=t,
        lang=language,
        languages=translations.SUPPORTED,
        title=web.title,
        version=ctx.version or __version__,
        asset_version=_asset_version(ctx),
        path=quote(echoed_path(request.url.path), safe=_PATH_SAFE),
        diagnostics_link=diagnostics_link,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept-Language, Cookie"
    if remember:
        response.set_cookie(
            translations.COOKIE, remember, max_age=COOKIE_AGE, samesite="lax", httponly=True
        )
    return response


def _asset_version(ctx: WebContext) -> str:
    return hashlib.sha256(f"{ctx.version}{__version__}".encode()).hexdigest()[:10]


def _script_json(value: object) -> str:
    """JSON to embed in a `<script type="application/json">`: nothing in it can end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return text


def _page_data(
    ctx: WebContext,
    wanted: frozenset[str],
    revision: int,
    clusters: frozenset[str] | None = None,
) -> str:
    web = ctx.settings.web
    data = {
        "tags": sorted(wanted),
        # the clusters shown (null: all), and the local one, whose cards carry no badge
        "clusters": sorted(clusters) if clusters is not None else None,
        "localCluster": ctx.settings.clusters.local.name,
        "showAllOnRoot": web.show_all_on_root,
        "realtime": ctx.settings.realtime.enabled,
        "refreshInterval": web.refresh_interval,
        "revision": revision,
    }
    return _script_json(data)


def _i18n_json(language: str) -> str:
    return _script_json(translations.bundle(language))


async def _home(request: Request, ctx: WebContext, seen: Views, tag_path: str) -> Response:
    await ctx.backend.refresh()
    _, snapshot = seen.view(request, ctx.catalog.snapshot())
    language, _ = _language(request, ctx)
    t = Translator(language)
    try:
        wanted = tag_filter(tag_path, request.query_params.get("tags"))
    except BadParameter as e:
        return _render(request, ctx, "bad_request.html", status_code=400, message=str(e))
    web = ctx.settings.web
    local = ctx.settings.clusters.local.name
    clusters = views.cluster_filter(
        request.query_params.get("cluster"), local, web.default_show_all_clusters
    )
    everything: tuple[Item, ...] = (*snapshot.applications, *snapshot.bookmarks)
    cluster_chips = views.cluster_chips(everything, local, clusters)
    if not cluster_chips:
        clusters = None  # one cluster: nothing to choose
    apps = views.visible_apps(snapshot.applications, wanted, web.show_all_on_root)
    apps = [a for a in apps if clusters is None or a.cluster in clusters]
    shown_marks = [b for b in snapshot.bookmarks if clusters is None or b.cluster in clusters]
    dashboard = bool(web.icons.dashboard_icons_url)
    app_cards = views.app_cards(apps, snapshot.availability, t, dashboard, local)
    app_groups = views.groups("app", app_cards)
    marks = views.bookmark_cards(shown_marks, t, dashboard, local)
    mark_groups = views.groups("bookmark", marks)
    return _render(
        request,
        ctx,
        "index.html",
        app_groups=app_groups,
        bookmark_groups=mark_groups,
        chips=views.tag_chips(snapshot.applications, wanted),
        cluster_chips=cluster_chips,
        all_clusters=clusters is None,
        wanted=sorted(wanted),
        search_engine=icons.safe_url(web.search_engine) or "",
        page_data=_page_data(ctx, wanted, snapshot.revision, clusters),
        i18n_json=_i18n_json(language),
        any_items=bool(snapshot.applications or snapshot.bookmarks),
        diagnostics_link=seen.operator_gate(request, "/diagnostics") is None,
    )


async def _diagnostics(request: Request, ctx: WebContext, seen: Views) -> Response:
    if refused := seen.operator_gate(request, "/diagnostics"):
        return _render(request, ctx, "not_found.html", refused.status_code, diagnostics_link=False)
    await ctx.backend.refresh()
    rows = views.outcome_rows(ctx.catalog.outcomes())
    counts = views.verdict_counts(rows)
    verdict = request.query_params.get("verdict", "")
    if verdict in counts:
        rows = [r for r in rows if r.verdict == verdict]
    else:
        verdict = ""
    return _render(request, ctx, "diagnostics.html", rows=rows, counts=counts, verdict=verdict)


def _not_found(request: Request, ctx: WebContext) -> Response:
    return _render(request, ctx, "not_found.html", status_code=404)


def _without_slash(request: Request, catch_all: BaseRoute) -> str | None:
    """Where `/x/` should go when `/x` is served: a path on this site, never a URL built from
    the request's Host header. Leading slashes collapse and the path is re-quoted, so neither
    `//host` nor `/\\host` can come out of it."""
    path = request.url.path
    if not path.endswith("/") or path == "/":
        return None
    bare = "/" + path.strip("/")
    probe = {**request.scope, "path": bare}
    routes: list[BaseRoute] = request.app.router.routes
    if not any(r is not catch_all and r.matches(probe)[0] is Match.FULL for r in routes):
        return None
    query = request.scope.get("query_string", b"").decode("latin-1")
    return quote(bare, safe=_PATH_SAFE) + (f"?{query}" if query else "")


def _icon(set_: str, name: str) -> Response:
    body = icons.svg(set_, name)
    if body is None:
        return Response(
            "no such icon",
            status_code=404,
            media_type="text/plain",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
    return Response(
        body,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": icons.CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": SVG_CSP,
        },
    )


async def _dashboard_icon(fetcher: icons.DashboardIcons, file: str) -> Response:
    found = await fetcher.get(file)
    if found is None:
        return Response(
            "no such icon",
            status_code=404,
            media_type="text/plain",
            headers={"Cache-Control": "public, max-age=600", "X-Content-Type-Options": "nosniff"},
        )
    body, media_type = found
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": icons.DASHBOARD_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": SVG_CSP,
        },
    )


def _etagged(request: Request, body: str, media_type: str) -> Response:
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


class _Headers:
    """Adds fixed headers to every response of a wrapped ASGI app (the static files)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.raw]}
            await send(message)

        await self.app(scope, receive, add)


def routes(ctx: WebContext) -> list[BaseRoute]:
    theme_css = theme.stylesheet(ctx.settings.web.theme)
    seen = Views(ctx.settings.access)

    async def home(request: Request) -> Response:
        return await _home(request, ctx, seen, "")

    async def tagged(request: Request) -> Response:
        tag_path = str(request.path_params["tags"])
        if tag_path.lower() in RESERVED:
            return _not_found(request, ctx)
        return await _home(request, ctx, seen, tag_path)

    async def diagnostics(request: Request) -> Response:
        return await _diagnostics(request, ctx, seen)

    async def stylesheet(request: Request) -> Response:
        return _etagged(request, theme_css, "text/css")

    async def icon(request: Request) -> Response:
        return _icon(str(request.path_params["set"]), str(request.path_params["name"]))

    dashboard_icons = icons.DashboardIcons(ctx.settings.web.icons)

    async def dashboard_icon(request: Request) -> Response:
        return await _dashboard_icon(dashboard_icons, str(request.path_params["file"]))

    async def elsewhere(request: Request) -> Response:
        # last route, so the router never builds its own absolute trailing-slash redirect
        target = _without_slash(request, catch_all)
        if target is None:
            return _not_found(request, ctx)
        return RedirectResponse(target, status_code=307)

    catch_all = Route("/{path:path}", elsewhere, methods=["GET", "HEAD"], name="elsewhere")
    statics = StaticFiles(directory=HERE / "statics")
    return [
        Route("/", home, methods=["GET", "HEAD"], name="home"),
        Route("/diagnostics", diagnostics, methods=["GET", "HEAD"], name="diagnostics"),
        Route("/theme.css", stylesheet, methods=["GET", "HEAD"], name="theme"),
        Route(
            icons.DASHBOARD_PATH + "{file}",
            dashboard_icon,
            methods=["GET", "HEAD"],
            name="dashboard-icon",
        ),
        Route("/icons/{set}/{name}.svg", icon, methods=["GET", "HEAD"], name="icon"),
        Mount(
            "/statics",
            # revalidated on every use (a 304 while unchanged): the modules import one another
            # by plain relative URLs, which carry no version to bust a cache with
            app=_Headers(
                statics, {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
            ),
            name="statics",
        ),
        Route("/{tags}", tagged, methods=["GET", "HEAD"], name="tagged"),
        catch_all,
    ]
