"""Icons without third-party calls.

An app's `icon` is resolved here, once, into what a card shows:

- `mdi:name` (or a bare `name`) -> Material Design Icons, from `material-design-icons-pack`;
- `simple-icons:name` / `si:name` -> Simple Icons, from `simple-icons-pack`;
- an `http(s)://` URL -> an `<img>` of that URL (the only kind that leaves the cluster, and only
  because the user asked for it);
- anything else (an unknown name, another Iconify prefix, a `data:` or `javascript:` URL) -> a
  letter in a coloured circle.

Set icons are served by the project at `/icons/<set>/<name>.svg` as a `<symbol id="i">`, so a
card can draw one with `<svg fill="..."><use href="/icons/mdi/x.svg#i"/></svg>`: cached for a
year, coloured by a presentation attribute (no inline style, so the page's CSP stays strict).
The same files work as `<img src>`. The page's JavaScript mirrors `resolve` and `letter_color`
to render cards identically.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

import material_design_icons_pack as mdi
import simple_icons_pack as si

IconSet = Literal["mdi", "si"]
SETS: tuple[IconSet, ...] = ("mdi", "si")
_PREFIXES: dict[str, IconSet] = {"mdi": "mdi", "simple-icons": "si", "si": "si"}

# white text on each of these has a contrast of at least 4.5:1
LETTER_COLORS = (
    "#B3261E",
    "#A3305F",
    "#7B3FA0",
    "#5146A8",
    "#1F5FA8",
    "#006A80",
    "#00705A",
    "#2E6B1F",
    "#7A5900",
    "#A04600",
    "#5F5A54",
    "#3F5A70",
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
_COLOR = re.compile(
    r"^(#[0-9a-fA-F]{3,4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,30}"
    r"|(rgb|rgba|hsl|hsla)\([0-9.,%\s/a-z]{1,60}\))$"
)
_SVG_ROOT = re.compile(r"^\s*<svg\b([^>]*)>(.*)</svg>\s*$", re.DOTALL)
_VIEWBOX = re.compile(r'viewBox="([0-9.\s-]+)"')
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)

CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Icon:
    """What a card draws: `kind` says which of the other fields matter."""

    kind: Literal["set", "img", "letter"]
    href: str = ""  # set: the SVG file; img: the image URL
    color: str = "currentColor"  # fill of a set icon or of the letter's circle
    letter: str = ""


def safe_url(url: str | None) -> str | None:
    """The URL if it may become a link or an image source (http or https), else None."""
    if not url:
        return None
    cleaned = url.strip()
    scheme, sep, _ = cleaned.partition(":")
    if not sep or scheme.lower() not in ("http", "https") or "//" not in cleaned[:8]:
        return None
    if any(ch in cleaned for ch in "\x00\r\n\t"):
        return None
    return cleaned


def safe_color(color: str | None) -> str | None:
    """A CSS colour that cannot escape its attribute or inject anything, or None."""
    if color and _COLOR.match(color.strip()):
        return color.strip()
    return None


def letter_of(name: str) -> str:
    stripped = name.strip()
    return stripped[0].upper() if stripped else "?"


def letter_color(name: str) -> str:
    """A colour picked from the name, the same in Python and in the page's JavaScript."""
    total = sum(ord(ch) for ch in name.strip())
    return LETTER_COLORS[total % len(LETTER_COLORS)]


def _slug(set_: IconSet, name: str) -> str:
    name = name.strip().lower()
    if set_ == "si":
        # Simple Icons' own slug rule for titles: "Home Assistant" -> homeassistant
        name = name.replace("+", "plus").replace(".", "dot").replace("&", "and")
        name = re.sub(r"[^a-z0-9]", "", name)
    else:
        name = re.sub(r"[\s_]+", "-", name)
    return name


@functools.lru_cache(maxsize=4096)
def svg(set_: str, name: str) -> str | None:
    """The SVG file served for an icon, or None if the set has no such icon."""
    if set_ not in SETS or not _NAME.match(name):
        return None
    found = mdi.get_icon(name) if set_ == "mdi" else si.get_icon(name)
    if found is None:
        return None
    match = _SVG_ROOT.match(found.svg)
    if match is None:
        return None
    box = _VIEWBOX.search(match.group(1))
    view_box = box.group(1) if box else "0 0 24 24"
    body = _TITLE.sub("", match.group(2))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view_box}">'
        f'<symbol id="i" viewBox="{view_box}">{body}</symbol><use href="#i"/></svg>'
    )


def _set_icon(set_: IconSet, name: str) -> str | None:
    slug = _slug(set_, name)
    if svg(set_, slug) is not None:
        return slug
    if set_ == "mdi" and slug.startswith("mdi-") and svg(set_, slug[4:]) is not None:
        return slug[4:]  # the CSS class form, "mdi-home"
    return None


def resolve(icon: str | None, name: str, color: str | None = None) -> Icon:
    """An app's or bookmark's `icon` and `iconColor` -> what its card draws."""
    fill = safe_color(color)
    spec = (icon or "").strip()
    if "://" in spec:
        url = safe_url(spec)
        if url is not None:
            return Icon("img", url)
    elif spec:
        prefix, sep, rest = spec.partition(":")
        set_: IconSet | None = _PREFIXES.get(prefix.lower()) if sep else "mdi"
        if set_ is not None:
            slug = _set_icon(set_, rest if sep else spec)
            if slug is not None:
                return Icon("set", f"/icons/{set_}/{slug}.svg", fill or "currentColor")
    return Icon("letter", color=fill or letter_color(name), letter=letter_of(name))
