"""Query and path parameters shared by the REST API, the event stream and the pages.

Every parameter is bounded before it is used, and an error quotes at most `ECHO_LIMIT`
characters of what the client sent, so a long URL costs a short answer.
"""

from __future__ import annotations

from collections.abc import Collection

from startpunkt.shapes import tag_set

MAX_TAGS_LENGTH = 1024
MAX_TAGS = 64
ECHO_LIMIT = 60
# a page links to its own path (the language links); longer paths than any valid one link home
MAX_PATH_ECHO = 2 * MAX_TAGS_LENGTH


class BadParameter(ValueError):
    """A query or path parameter that cannot be used; the message says how to fix it."""


def cut(value: str, limit: int = ECHO_LIMIT) -> str:
    """`value` for an error message, cut short: an echo never grows with the input."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}... ({len(value)} characters)"


def quoted(value: str, limit: int = ECHO_LIMIT) -> str:
    """`value` quoted for an error message, cut short like `cut`."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def tag_filter(*raws: str | None) -> frozenset[str]:
    """The tags asked for in any of `raws` (a path segment, `?tags=`), each comma-separated."""
    wanted: frozenset[str] = frozenset()
    for raw in raws:
        if raw is not None and len(raw) > MAX_TAGS_LENGTH:
            raise BadParameter(f"tags: at most {MAX_TAGS_LENGTH} characters, comma-separated")
        wanted |= tag_set(raw)
    if len(wanted) > MAX_TAGS:
        raise BadParameter(f"tags: at most {MAX_TAGS} tags, got {len(wanted)}")
    return wanted


def wanted_tags(raw: str | None, show_all_on_root: bool) -> frozenset[str] | None:
    """The tag filter of a request: None shows everything, an empty set only untagged apps.

    `a,b` matches apps with any of the tags, plus every untagged app (the original's rule);
    `*` is every app, whatever `web.showAllOnRoot` says (what a following instance asks for).
    """
    if raw is not None and raw.strip() == "*":
        return None
    wanted = tag_filter(raw)
    if wanted:
        return wanted
    # no filter: the original showed only untagged apps on `/`; showAllOnRoot shows all
    return None if show_all_on_root else frozenset()


def wanted_clusters(raw: str | None) -> frozenset[str] | None:
    """`?cluster=a,b`: only the items of these clusters (by configured name); None: all."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_TAGS_LENGTH:
        raise BadParameter(f"cluster: at most {MAX_TAGS_LENGTH} characters, comma-separated")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def choices(raw: str | None, name: str, known: Collection[str]) -> frozenset[str]:
    """A comma-separated subset of `known` (case-insensitive); anything else is refused."""
    if raw is not None and len(raw) > MAX_TAGS_LENGTH:
        raise BadParameter(f"{name}: at most {MAX_TAGS_LENGTH} characters, comma-separated")
    wanted = tag_set(raw)
    if unknown := sorted(wanted - set(known)):
        raise BadParameter(
            f"{name}: unknown {cut(', '.join(unknown))}; use any of {', '.join(sorted(known))}"
        )
    return wanted


def echoed_path(path: str) -> str:
    """The request path as a page may link back to it: the path itself, or `/` if overlong."""
    return path if len(path) <= MAX_PATH_ECHO else "/"
