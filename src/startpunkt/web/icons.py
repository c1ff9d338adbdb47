"""Icons without third-party calls.

An app's `icon` is resolved here, once, into what a card shows:

- `mdi:name` (or a bare `name`) -> Material Design Icons, from `material-design-icons-pack`;
- `simple-icons:name` / `si:name` -> Simple Icons, from `simple-icons-pack`;
- Homepage's forms: `mdi-name`, `si-name`, each optionally with a colour, `mdi-name-#f0d453`;
- a dashboard-icons name (`grafana.png`, `.svg`, `.webp`) -> `/icons/dashboard/<name>`, which
  the server fetches once from `web.icons.dashboardIconsUrl` and keeps (DashboardIcons); without
  that setting (the default) such a name is a letter, so the browser never leaves the cluster;
- an `http(s)://` URL -> an `<img>` of that URL (the only kind that leaves the cluster, and only
  because the user asked for it);
- anything else (an unknown name, another Iconify prefix, a `data:` or `javascript:` URL) -> a
  letter in a coloured circle.

Set icons are served by the project at `/icons/<set>/<name>.svg` as a `<symbol id="i">`, so a
card can draw one with `<svg fill="..."><use href="/icons/mdi/x.svg#i"/></svg>`: cached for a
year, coloured by a presentation attribute (no inline style, so the page's CSP stays strict).
The same files work as `<img src>`. Only the server resolves icons: live updates carry cards it
rendered (`web.fragments`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import httpx
import material_design_icons_pack as mdi
import simple_icons_pack as si

from startpunkt import __version__
from startpunkt.config import WebIcons

log = logging.getLogger(__name__)

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

# Homepage's `mdi-flask-outline`, `si-github-#ffffff`
_HOMEPAGE_FORM = re.compile(r"^(mdi|si)-(.+?)(?:-(#[0-9a-f]{3,8}))?$", re.IGNORECASE)
# dashboard-icons file names, as Homepage takes them
DASHBOARD_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}\.(png|svg|webp)$")
DASHBOARD_PATH = "/icons/dashboard/"


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
    """A colour picked from the name, the same on every render."""
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


def resolve(icon: str | None, name: str, color: str | None = None, dashboard: bool = False) -> Icon:
    """An app's or bookmark's `icon` and `iconColor` -> what its card draws. `dashboard`: the
    server fetches dashboard-icons names (web.icons.dashboardIconsUrl is set)."""
    fill = safe_color(color)
    spec = (icon or "").strip()
    if "://" in spec:
        url = safe_url(spec)
        if url is not None:
            return Icon("img", url)
    elif homepage := _HOMEPAGE_FORM.match(spec):
        pack: IconSet = "si" if homepage.group(1).lower() == "si" else "mdi"
        slug = _set_icon(pack, homepage.group(2))
        if slug is not None:
            tint = safe_color(homepage.group(3)) or fill or "currentColor"
            return Icon("set", f"/icons/{pack}/{slug}.svg", tint)
    elif DASHBOARD_NAME.match(spec.lower()):
        if dashboard:
            return Icon("img", DASHBOARD_PATH + spec.lower())
    elif spec:
        prefix, sep, rest = spec.partition(":")
        set_: IconSet | None = _PREFIXES.get(prefix.lower()) if sep else "mdi"
        if set_ is not None:
            slug = _set_icon(set_, rest if sep else spec)
            if slug is not None:
                return Icon("set", f"/icons/{set_}/{slug}.svg", fill or "currentColor")
    return Icon("letter", color=fill or letter_color(name), letter=letter_of(name))


# -- dashboard icons -------------------------------------------------------------------------

MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"}
CACHE_BYTES = 32 * 1024 * 1024  # all fetched icons together
MISSING_FOR = 600.0  # seconds a failed fetch is remembered before it is tried again
DASHBOARD_CACHE_CONTROL = "public, max-age=86400"


def _looks_like(ext: str, body: bytes) -> bool:
    """The bytes are the image the name says, not an error page or something else."""
    if ext == "png":
        return body.startswith(b"\x89PNG\r\n\x1a\n")
    if ext == "webp":
        return body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in body[:4096].lower()


class DashboardIcons:
    """dashboard-icons images, fetched by the server from `dashboardIconsUrl` once each and
    kept, so pages draw them without a third-party request.

    `{base}/{ext}/{name}.{ext}` is the layout of the dashboard-icons repository and its CDN
    mirrors. A fetch is bounded in time and size, and its body must be the image its name says
    (an SVG is later served with a sandboxing CSP). Concurrent requests for one name share one
    fetch; a failure is remembered for a while; the cache is bounded by entries and bytes.
    """

    def __init__(
        self, settings: WebIcons, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base = settings.dashboard_icons_url
        self._timeout = settings.fetch_timeout
        self._max_bytes = settings.max_bytes
        self._entries = settings.cache_entries
        self._transport = transport  # httpx's test seam
        self._cache: OrderedDict[str, tuple[bytes, str] | float] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[str, asyncio.Task[tuple[bytes, str] | None]] = {}
        self.fetches = 0

    @property
    def enabled(self) -> bool:
        return bool(self.base)

    async def get(self, file: str) -> tuple[bytes, str] | None:
        """(body, media type) of `name.ext`, or None: unknown, unreachable or not an image."""
        file = file.lower()
        if not self.enabled or not DASHBOARD_NAME.match(file):
            return None
        cached = self._cache.get(file)
        if isinstance(cached, tuple):
            self._cache.move_to_end(file)
            return cached
        if isinstance(cached, float) and cached > time.monotonic():
            return None
        task = self._inflight.get(file)
        if task is None:
            task = asyncio.create_task(self._fetch_and_keep(file), name=f"dashboard icon {file}")
            self._inflight[file] = task
            task.add_done_callback(lambda _: self._inflight.pop(file, None))
        # shielded: one impatient browser must not cancel the fetch others wait for
        return await asyncio.shield(task)

    async def _fetch_and_keep(self, file: str) -> tuple[bytes, str] | None:
        found = await self._fetch(file)
        self._store(file, found)
        return found

    def _store(self, file: str, found: tuple[bytes, str] | None) -> None:
        old = self._cache.pop(file, None)
        if isinstance(old, tuple):
            self._bytes -= len(old[0])
        self._cache[file] = found if found is not None else time.monotonic() + MISSING_FOR
        if found is not None:
            self._bytes += len(found[0])
        while len(self._cache) > self._entries or self._bytes > CACHE_BYTES:
            _, evicted = self._cache.popitem(last=False)
            if isinstance(evicted, tuple):
                self._bytes -= len(evicted[0])

    async def _fetch(self, file: str) -> tuple[bytes, str] | None:
        ext = file.rsplit(".", 1)[1]
        url = f"{self.base}/{ext}/{file}"
        self.fetches += 1
        try:
            async with asyncio.timeout(self._timeout):
                body = await self._download(url)
        except (TimeoutError, httpx.HTTPError, OSError) as e:
            log.warning("Dashboard icon %s: %s", url, type(e).__name__)
            return None
        if body is None:
            return None
        if not _looks_like(ext, body):
            log.warning("Dashboard icon %s: not a %s image; drawn as a letter", url, ext)
            return None
        return body, MEDIA_TYPES[ext]

    async def _download(self, url: str) -> bytes | None:
        headers = {"User-Agent": f"Startpunkt/{__version__}", "Accept-Encoding": "identity"}
        async with (
            httpx.AsyncClient(
                transport=self._transport,
                timeout=self._timeout,
                follow_redirects=True,
                max_redirects=3,
                trust_env=False,
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                log.info("Dashboard icon %s: HTTP %d", url, response.status_code)
                return None
            body = bytearray()
            async for chunk in response.aiter_raw():  # raw: no decompression bombs
                body += chunk
                if len(body) > self._max_bytes:
                    log.warning(
                        "Dashboard icon %s: larger than %d bytes (web.icons.maxBytes)",
                        url,
                        self._max_bytes,
                    )
                    return None
            return bytes(body)
