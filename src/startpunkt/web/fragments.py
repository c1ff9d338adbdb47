"""The start page's live updates, rendered by the server: each changed card in the page's
language, for the page's own event stream (`/api/updates/stream?view=page&lang=en-US`).

The page's script puts these fragments in place and renders no card itself, so a card that
arrives live is node for node the card of a freshly loaded page (the same `views` values, the
same Jinja macros). An event's fragment is rendered once per language (`events.View`, kept
with the event), however many pages are open; the public stream's envelope is untouched.

A page event keeps the public envelope `{"type", "timestamp", "data"}`, with
`data = {"key", "kind", "html"}` for an added or updated item, where `html` is the item's group
(`<details>`, holding just this card), so a page that has no such group yet can insert it as the
server would have rendered it; a removal carries the item's key as on the public stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from startpunkt.events import Event, View
from startpunkt.model import UNKNOWN, Application
from startpunkt.shapes.api import EventType, PageFragmentJSON
from startpunkt.web import translations, views
from startpunkt.web.context import WebContext
from startpunkt.web.pages import templates
from startpunkt.web.params import BadParameter, quoted
from startpunkt.web.translations import Translator

PAGE = "page"


def render(event: Event, t: Translator, dashboard: bool, local_cluster: str = "") -> Event:
    """`event` as the page in `t`'s language sees it: the card's HTML instead of its JSON."""
    change = event.change
    if change is None or event.type.endswith("_REMOVED"):
        return event
    item = change.item
    is_app = isinstance(item, Application)
    kind: views.Kind = "app" if is_app else "bookmark"
    availability = change.availability if is_app else UNKNOWN
    card = views.card(item, t, availability, dashboard, local_cluster)
    (group,) = views.groups(kind, [card])
    html = str(_group_macro()(group, t))
    data: PageFragmentJSON = {"key": item.key, "kind": kind, "html": html}
    return Event.build(
        cast("EventType", event.type),  # the type of the event it renders
        data,
        id_=event.id,
        key=event.key,
        tags=event.tags,
        timestamp=change.timestamp,
    )


def _group_macro() -> Callable[[views.Group, Translator], str]:
    """`macros.html`'s `group` (a template module's macros are its exported names)."""
    macro: Callable[[views.Group, Translator], str] = vars(
        templates.get_template("macros.html").module
    )["group"]
    return macro


class PageViews:
    """The page's view of the event stream, one per language, made when first asked for."""

    def __init__(self, ctx: WebContext) -> None:
        self._ctx = ctx
        self._views: dict[str, View] = {}

    def view(self, language: str) -> View:
        found = self._views.get(language)
        if found is None:
            t = Translator(language)

            def page_event(event: Event) -> Event:
                # read per event: a configuration reload may change it
                dashboard = bool(self._ctx.settings.web.icons.dashboard_icons_url)
                local = self._ctx.settings.clusters.local.name
                return render(event, t, dashboard, local)

            found = self._views[language] = View(f"{PAGE}:{language}", page_event)
        return found

    def requested(self, query: Mapping[str, str]) -> View | None:
        """The view a stream request asks for with `?view=page&lang=...`; None: the public one."""
        asked = query.get("view")
        if asked is None:
            return None
        if asked != PAGE:
            raise BadParameter(
                f"view: {quoted(asked)} is not a view; use view=page (the start page's own "
                "stream) or leave it out (the API's)"
            )
        language = query.get("lang", "")
        if language not in translations.SUPPORTED:
            raise BadParameter(
                f"lang: {quoted(language)} is not a page language; "
                f"use one of {', '.join(translations.SUPPORTED)}"
            )
        return self.view(language)
