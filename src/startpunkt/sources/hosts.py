"""Which hosts the availability checker may contact for an app: its own, plus configured ones.

Anyone who can create an Application chooses its URLs. Probing only the host the page links to
(or hosts the operator lists in `availability.healthUrlHosts`) keeps the checker from being
pointed at addresses inside the cluster network that the page never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit


def host_of(url: str | None) -> str | None:
    """The URL's host name, lower-cased and without a trailing dot; None if it has none."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def matches(host: str, pattern: str) -> bool:
    """`*` matches any host, `*.example.com` any host below example.com, else exact equality."""
    pattern = pattern.lower().rstrip(".").strip("[]")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def allowed(url: str, own_url: str | None, patterns: Iterable[str]) -> bool:
    """May a probe of the app at `own_url` contact `url`? Its own host always; others if listed."""
    host = host_of(url)
    if host is None:
        return False
    return host == host_of(own_url) or any(matches(host, p) for p in patterns)
