"""Query and path parameters shared by the REST API and the event stream."""

from __future__ import annotations

from startpunkt.shapes import tag_set

MAX_TAGS_LENGTH = 1024
MAX_TAGS = 64


class BadParameter(ValueError):
    """A query or path parameter that cannot be used; the message says how to fix it."""


def wanted_tags(raw: str | None, show_all_on_root: bool) -> frozenset[str] | None:
    """The tag filter of a request: None shows everything, an empty set only untagged apps.

    `a,b` matches apps with any of the tags, plus every untagged app (the original's rule).
    """
    if raw is not None and len(raw) > MAX_TAGS_LENGTH:
        raise BadParameter(f"tags: at most {MAX_TAGS_LENGTH} characters, comma-separated")
    wanted = tag_set(raw)
    if len(wanted) > MAX_TAGS:
        raise BadParameter(f"tags: at most {MAX_TAGS} tags, got {len(wanted)}")
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
