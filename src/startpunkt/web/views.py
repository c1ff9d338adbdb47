"""What the page templates render: cards, groups, tag chips and diagnostics rows.

Pure functions from the store's values to plain view values. They are the page's only renderer:
the first paint and every live update (`web.fragments`) go through them and the same Jinja
macros, so the page's JavaScript only puts the server's HTML in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from startpunkt.model import (
    UNKNOWN,
    Application,
    Availability,
    Bookmark,
    Item,
    Outcome,
    display_text,
    sort_location,
)
from startpunkt.shapes import iso, matches_tags
from startpunkt.web import icons
from startpunkt.web.translations import Translator

Kind = Literal["app", "bookmark"]


def fold(name: str) -> str:
    """How group names and tags compare: `Straße`, `STRASSE` and `strasse` are one, as in the
    REST API (`shapes.grouped`, `shapes.tag_set`)."""
    return name.casefold()


def fnv1a(text: str) -> str:
    """A short stable id for a name (32-bit FNV-1a over UTF-8)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


def group_id(kind: Kind, group: str) -> str:
    return f"g-{kind}-{fnv1a(fold(group))}"


def status_title(t: Translator, availability: Availability) -> str:
    state = t(f"status.{availability.state.value}")
    if availability.status_code is None:
        return state
    if availability.latency_ms is None:
        return t("status.detailsNoLatency", state=state, code=availability.status_code)
    return t(
        "status.details",
        state=state,
        code=availability.status_code,
        latency=int(availability.latency_ms + 0.5),  # JavaScript's Math.round
    )


@dataclass(frozen=True, slots=True)
class Card:
    kind: Kind
    key: str
    name: str
    group: str
    location: int
    href: str | None  # a safe http(s) URL, or None: the card is not a link
    url_text: str  # the URL as text, shown only when it cannot be a link
    info: str
    target_blank: bool
    tags: tuple[str, ...]
    icon: icons.Icon
    # what an image icon becomes if the image does not load: the letter the server would draw
    fallback: icons.Icon | None
    status: str  # an Availability state, "" for bookmarks
    status_text: str
    status_title: str
    cluster: str = ""  # the badge: the item's cluster when it is not the local one
    cluster_name: str = ""  # the item's cluster, always (the page filters live cards on it)
    stale_title: str = ""  # set while the item's cluster is out of reach


@dataclass(frozen=True, slots=True)
class Group:
    kind: Kind
    id: str
    name: str
    cards: tuple[Card, ...]

    @property
    def order(self) -> str:
        """Where the group sorts among the others (the page places new groups by it)."""
        return fold(self.name)


def card(
    item: Item,
    t: Translator,
    availability: Availability = UNKNOWN,
    dashboard: bool = False,
    local_cluster: str = "",
) -> Card:
    is_app = isinstance(item, Application)
    stale = item.stale_since
    href = icons.safe_url(item.url)
    color = item.icon_color if isinstance(item, Application) else None
    icon = icons.resolve(item.icon, item.name, color, dashboard)
    return Card(
        kind="app" if is_app else "bookmark",
        key=item.key,
        name=item.name,
        group=item.group,
        location=sort_location(item.location),
        href=href,
        url_text="" if href else (item.url or ""),
        info=item.info or "",
        target_blank=bool(item.target_blank),
        tags=item.tags if isinstance(item, Application) else (),
        icon=icon,
        fallback=icons.resolve(None, item.name, color) if icon.kind == "img" else None,
        status=availability.state.value if is_app else "",
        status_text=t(f"status.{availability.state.value}") if is_app else "",
        status_title=status_title(t, availability) if is_app else "",
        cluster=item.cluster if item.cluster != local_cluster or stale is not None else "",
        cluster_name=item.cluster,
        stale_title=t("clusters.stale", time=iso(stale)) if stale is not None else "",
    )


def groups(kind: Kind, cards: Iterable[Card]) -> list[Group]:
    """Sorted cards -> groups in order of first appearance, names compared by `fold`."""
    order: list[str] = []
    members: dict[str, list[Card]] = {}
    names: dict[str, str] = {}
    for c in cards:
        folded = fold(c.group)
        if folded not in members:
            order.append(folded)
            members[folded] = []
            names[folded] = c.group
        members[folded].append(c)
    return [Group(kind, group_id(kind, f), names[f], tuple(members[f])) for f in order]


def visible_apps(
    apps: Sequence[Application], wanted: frozenset[str], show_all_on_root: bool
) -> list[Application]:
    """The API's tag rule, plus the option to show everything when no tag is chosen."""
    if not wanted and show_all_on_root:
        return list(apps)
    return [a for a in apps if matches_tags(a, wanted)]


@dataclass(frozen=True, slots=True)
class TagChip:
    name: str
    href: str
    selected: bool

    @property
    def key(self) -> str:
        return fold(self.name)


def tag_chips(apps: Iterable[Application], wanted: frozenset[str]) -> list[TagChip]:
    """Every tag in use; a chip's link toggles that tag in the current selection."""
    spelled: dict[str, str] = {}
    for app in apps:
        for tag in app.tags:
            spelled.setdefault(fold(tag), tag)
    chips = []
    for folded in sorted(spelled):
        selection = wanted ^ {folded}
        href = "/" + ",".join(sorted(selection)) if selection else "/"
        chips.append(TagChip(spelled[folded], href, folded in wanted))
    return chips


@dataclass(frozen=True, slots=True)
class DerivedItem:
    name: str
    group: str
    href: str | None
    url_text: str


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    kind: str
    namespace: str
    name: str
    verdict: str
    reason: str
    notes: tuple[str, ...]
    derived: tuple[DerivedItem, ...]


def outcome_rows(outcomes: Iterable[Outcome]) -> list[OutcomeRow]:
    rows = []
    for o in outcomes:
        derived = tuple(
            DerivedItem(
                i.name,
                i.group,
                icons.safe_url(i.url),
                "" if icons.safe_url(i.url) else (i.url or ""),
            )
            for i in (o.derived or o.items)
        )
        rows.append(
            OutcomeRow(
                o.ref.kind,
                display_text(o.ref.namespace),  # a manifest file's names are not validated
                display_text(o.ref.name),
                o.verdict.value,
                o.reason or "",
                o.notes,
                derived,
            )
        )
    return rows


def verdict_counts(rows: Iterable[OutcomeRow]) -> Mapping[str, int]:
    counts = {"shown": 0, "hidden": 0, "rejected": 0}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return counts


def bookmark_cards(
    marks: Iterable[Bookmark], t: Translator, dashboard: bool = False, local_cluster: str = ""
) -> list[Card]:
    return [card(m, t, UNKNOWN, dashboard, local_cluster) for m in marks]


def app_cards(
    apps: Iterable[Application],
    availability: Mapping[str, Availability],
    t: Translator,
    dashboard: bool = False,
    local_cluster: str = "",
) -> list[Card]:
    return [card(a, t, availability.get(a.key, UNKNOWN), dashboard, local_cluster) for a in apps]


@dataclass(frozen=True, slots=True)
class ClusterChip:
    name: str
    href: str
    selected: bool


def cluster_filter(raw: str | None, local: str, show_all: bool) -> frozenset[str] | None:
    """`?cluster=a,b` on the page: these clusters; `*`: every one (None). Without it, every
    cluster with `web.defaultShowAllClusters`, else the local one."""
    if raw is None:
        return None if show_all else frozenset({local})
    names = frozenset(n.strip() for n in raw.split(",")[:64] if n.strip())
    return None if not names or "*" in names else names


def cluster_chips(
    items: Iterable[Item], local: str, wanted: frozenset[str] | None
) -> list[ClusterChip]:
    """One chip per cluster with items (the local one first), when there is more than one."""
    names = sorted({i.cluster for i in items if i.cluster} - {local})
    if not names:
        return []
    return [
        ClusterChip(name, "?" + urlencode({"cluster": name}), wanted is not None and name in wanted)
        for name in (local, *names)
    ]
