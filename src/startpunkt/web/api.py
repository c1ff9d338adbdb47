"""The REST API: the original's `/api` read endpoints, served from the in-memory store.

Nothing here talks to Kubernetes: every response is built from a catalog snapshot (after
`ctx.backend.refresh()`, which lists on demand only when watching is off). The documents every
page load asks for are encoded once per snapshot and served with a strong ETag, so a reload
that finds nothing new costs a 304.

Differences from the original, each deliberate (spec §12 item 17):
- an empty store is `200 {"groups": []}`, not 404;
- errors are JSON bodies `{"error", "status"}`, also for unknown `/api` paths and methods;
- tags can be given as `?tags=a,b`, which cannot collide with `ping`;
- a malformed language is a 400, not a silent en-US;
- `/api/apps` and `/api/bookmarks` carry the store `revision`, so a page can resume the event
  stream from exactly its snapshot (`/api/updates/stream?lastEventId=<revision>`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from startpunkt.config import ThemeColors
from startpunkt.model import Application, Outcome, Verdict
from startpunkt.shapes.api import (
    ApplicationGroupsJSON,
    BookmarkGroupsJSON,
    ConfigJSON,
    DiagnosticJSON,
    DiagnosticsJSON,
    ThemeColorsJSON,
    ThemeJSON,
    application,
    application_groups,
    bookmark,
    bookmark_groups,
    matches_tags,
)
from startpunkt.store import Snapshot
from startpunkt.web import openapi, translations
from startpunkt.web.audiences import Views
from startpunkt.web.caching import Encoded, SnapshotCache, conditional, encoded
from startpunkt.web.context import WebContext
from startpunkt.web.errors import error, unknown_api_path
from startpunkt.web.params import BadParameter, choices, quoted, wanted_clusters, wanted_tags
from startpunkt.web.probes import public_status

LANGUAGE_FORMAT = r"^[a-z]{2}(-[A-Z]{2})?$"
LANGUAGE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")  # used with fullmatch: `$` allows a final \n
# a function endpoint with methods=None would answer GET only
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Endpoint = Callable[[Request], Awaitable[Response]]
VERDICTS = frozenset(v.value for v in Verdict)


def apps_document(
    snapshot: Snapshot, wanted: frozenset[str] | None, clusters: frozenset[str] | None = None
) -> ApplicationGroupsJSON:
    apps: Iterable[Application] = snapshot.applications
    if wanted is not None:
        apps = (a for a in apps if matches_tags(a, wanted))
    if clusters is not None:
        apps = (a for a in apps if a.cluster in clusters)
    shapes = (application(a, snapshot.availability[a.key]) for a in apps)
    return application_groups(shapes, snapshot.revision)


def bookmarks_document(
    snapshot: Snapshot, clusters: frozenset[str] | None = None
) -> BookmarkGroupsJSON:
    marks = snapshot.bookmarks
    shapes = (bookmark(b) for b in marks if clusters is None or b.cluster in clusters)
    return bookmark_groups(shapes, snapshot.revision)


def diagnostic(outcome: Outcome) -> DiagnosticJSON:
    """One object: what it became and why; `urls` are what it derived, shown or not."""
    derived = (*outcome.items, *outcome.derived)
    source = derived[0].source if derived else None
    urls = list(dict.fromkeys(item.url for item in derived if item.url))
    body: DiagnosticJSON = {
        "source": source,
        "kind": outcome.ref.kind,
        "namespace": outcome.ref.namespace,
        "name": outcome.ref.name,
        "verdict": outcome.verdict,
        "reason": outcome.reason,
        "notes": list(outcome.notes),
        "urls": urls,
        "items": [item.key for item in outcome.items],
    }
    if outcome.ref.cluster:
        body["cluster"] = outcome.ref.cluster
    return body


def _ping(resource: str) -> Endpoint:
    async def ping(request: Request) -> Response:
        return PlainTextResponse(f"Pong from {resource} Resource")

    return ping


def _bad_parameter(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadParameter as e:
            return error(400, str(e))

    return checked


class Api:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.cache = SnapshotCache()
        self.bundles: dict[str, Encoded] = {}
        self.config = encoded(config_document(ctx))
        self.theme = encoded(theme_document(ctx))
        self.openapi = encoded(openapi.document(ctx.version))
        self.views = Views(ctx.settings.access)

    async def snapshot(self) -> Snapshot:
        await self.ctx.backend.refresh()
        return self.ctx.catalog.snapshot()

    async def apps(self, request: Request) -> Response:
        raw = request.path_params.get("tags", request.query_params.get("tags"))
        wanted = wanted_tags(raw, self.ctx.settings.web.show_all_on_root)
        clusters = wanted_clusters(request.query_params.get("cluster"))
        snapshot = await self.snapshot()
        seen_by, view = self.views.view(request, snapshot)
        doc = self.cache.get(
            snapshot,
            ("apps", wanted, clusters, seen_by),
            lambda _: apps_document(view, wanted, clusters),
            seen_by.tag,
        )
        return conditional(request, doc)

    async def app(self, request: Request) -> Response:
        group = request.path_params["group"].casefold()
        name = request.path_params["name"].casefold()
        seen_by, snapshot = self.views.view(request, await self.snapshot())
        for app in snapshot.applications:
            if app.group.casefold() == group and app.name.casefold() == name:
                shape = application(app, snapshot.availability[app.key])
                return conditional(request, encoded(shape, snapshot.revision, seen_by.tag))
        return error(
            404,
            f"no application named {quoted(request.path_params['name'])} "
            f"in group {quoted(request.path_params['group'])}",
        )

    async def bookmarks(self, request: Request) -> Response:
        clusters = wanted_clusters(request.query_params.get("cluster"))
        snapshot = await self.snapshot()
        seen_by, view = self.views.view(request, snapshot)
        doc = self.cache.get(
            snapshot,
            ("bookmarks", clusters, seen_by),
            lambda _: bookmarks_document(view, clusters),
            seen_by.tag,
        )
        return conditional(request, doc)

    async def diagnostics(self, request: Request) -> Response:
        if refused := self.views.operator_gate(request, "/api/diagnostics"):
            return refused
        wanted = choices(request.query_params.get("verdict"), "verdict", VERDICTS)
        await self.ctx.backend.refresh()
        outcomes = self.ctx.catalog.outcomes()
        objects = [diagnostic(o) for o in outcomes if not wanted or o.verdict.value in wanted]
        body: DiagnosticsJSON = {"objects": objects}
        return conditional(request, encoded(body))

    async def sources(self, request: Request) -> Response:
        if refused := self.views.operator_gate(request, "/api/sources"):
            return refused
        return conditional(request, encoded(public_status(self.ctx.backend.status())))

    async def translation(self, request: Request) -> Response:
        language = request.path_params["language"]
        if not LANGUAGE.fullmatch(language):
            raise BadParameter(
                f"language: {quoted(language)} is not a language tag; use the form en or en-US "
                f"({LANGUAGE_FORMAT})"
            )
        return self._bundle(request, language, None)

    async def default_translation(self, request: Request) -> Response:
        response = self._bundle(request, None, request.headers.get("accept-language"))
        response.headers.append("Vary", "Accept-Language")
        return response

    def _bundle(self, request: Request, language: str | None, accept: str | None) -> Response:
        chosen = translations.choose(language, None, accept, self.ctx.settings.default_language)
        if chosen not in self.bundles:
            self.bundles[chosen] = encoded(translations.bundle(chosen))
        return conditional(request, self.bundles[chosen], {"Content-Language": chosen})

    def fixed(self, doc_of: Callable[[Api], Encoded]) -> Endpoint:
        async def serve(request: Request) -> Response:
            return conditional(request, doc_of(self))

        return serve


def config_document(ctx: WebContext) -> ConfigJSON:
    """The original's keys; `realtime.heartbeatInterval` is in milliseconds."""
    web, realtime = ctx.settings.web, ctx.settings.realtime
    return {
        "config": {
            "version": ctx.version,
            "web": {
                "showGithubLink": web.github_link.enabled,
                # the original's UI would ask GitHub for the original's releases and nag
                "checkForUpdates": False,
                "title": web.title,
                "refreshInterval": web.refresh_interval,
                "searchEngine": web.search_engine,
            },
            "realtime": {
                "enabled": realtime.enabled,
                "heartbeatInterval": round(realtime.heartbeat_interval * 1000),
            },
            # the released v3.x pages then use /api/ws/updates instead of polling
            "websocket": {"enabled": realtime.enabled},
        }
    }


def theme_document(ctx: WebContext) -> ThemeJSON:
    theme = ctx.settings.web.theme
    return {"light": theme_colors(theme.light), "dark": theme_colors(theme.dark)}


def theme_colors(colors: ThemeColors) -> ThemeColorsJSON:
    return {
        "bodyBgColor": colors.body_bg_color,
        "bodyColor": colors.body_color,
        "emphasisColor": colors.emphasis_color,
        "textPrimaryColor": colors.text_primary_color,
        "textAccentColor": colors.text_accent_color,
    }


READ_ONLY = (
    "the API is read-only: applications and bookmarks are Kubernetes resources; change them "
    "with kubectl or in Git, and the page follows"
)


async def read_only(request: Request) -> Response:
    """The original's editor endpoints (`/api/apps/manage`, `/api/bookmarks/manage`): a clear
    refusal for every method, never a list an editor could mistake for the item."""
    return error(405, READ_ONLY, headers={"Allow": ""})


def routes(ctx: WebContext) -> list[BaseRoute]:
    api = Api(ctx)
    get = ["GET"]
    return [
        # before the tag and group routes, which would take `manage` for a tag or a group
        Route("/api/apps/manage", read_only, methods=ANY_METHOD),
        Route("/api/bookmarks/manage", read_only, methods=ANY_METHOD),
        Route("/api/apps", _bad_parameter(api.apps), methods=get),
        Route("/api/apps/ping", _ping("Application"), methods=get),
        Route("/api/apps/{tags}", _bad_parameter(api.apps), methods=get),
        Route("/api/apps/{group}/{name}", api.app, methods=get),
        Route("/api/bookmarks", _bad_parameter(api.bookmarks), methods=get),
        Route("/api/bookmarks/ping", _ping("Bookmark"), methods=get),
        Route("/api/config", api.fixed(lambda a: a.config), methods=get),
        Route("/api/config/ping", _ping("Config"), methods=get),
        Route("/api/theme", api.fixed(lambda a: a.theme), methods=get),
        Route("/api/theme/ping", _ping("Theme"), methods=get),
        Route("/api/i8n", api.default_translation, methods=get),
        Route("/api/i8n/ping", _ping("I8n"), methods=get),
        Route("/api/i8n/{language}", _bad_parameter(api.translation), methods=get),
        Route("/api/diagnostics", _bad_parameter(api.diagnostics), methods=get),
        Route("/api/sources", api.sources, methods=get),
        Route("/api/openapi.json", api.fixed(lambda a: a.openapi), methods=get),
        # last: anything else under /api is a JSON 404 (or 405), never the page
        Route("/api", unknown_api_path, methods=ANY_METHOD),
        Route("/api/{path:path}", unknown_api_path, methods=ANY_METHOD),
    ]
