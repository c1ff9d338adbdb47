"""Building, joining and vetting URLs.

Every URL that reaches the page goes through here, because it ends up in an `href`: anything that
is not http(s) (`javascript:`, `data:`, ...) is refused. The check follows how browsers parse:
tabs and newlines anywhere and control characters or spaces at either end are ignored, and
schemes are case-insensitive, so `" JavaScript:..."` is caught too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from startpunkt.sources.fields import URL_LIMIT, Rejected, Trace, show

SAFE_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
ICON_LIMIT = 2048
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# `localhost:8080/x` looks like scheme `localhost`; a port after the colon says it is a host
_HOST_AND_PORT = re.compile(r"[A-Za-z0-9.\-]+:\d+(?:[/?#]|$)")
_IGNORED_ANYWHERE = re.compile(r"[\t\n\r]")
_IGNORED_AT_ENDS = "".join(chr(c) for c in range(0x21))
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
_DANGEROUS = frozenset({"javascript", "vbscript", "data", "file"})


class UnsafeUrl(Rejected):
    pass


def _clean(value: str) -> str:
    return _IGNORED_ANYWHERE.sub("", value).strip(_IGNORED_AT_ENDS)


def scheme_of(value: str) -> str | None:
    """The scheme a browser would see, lower-cased; None for a relative or scheme-less URL."""
    url = _clean(value)
    match = _SCHEME.match(url)
    if match is None or _HOST_AND_PORT.match(url):
        return None
    return match.group(1).lower()


def absolute(value: str, where: str, default_scheme: str) -> str:
    """An explicitly configured URL, checked; one written without a scheme gets `default_scheme`.

    Raises UnsafeUrl for a scheme other than http(s), Rejected when it cannot be a link at all.
    """
    url = _clean(value)
    if len(url) > URL_LIMIT:
        raise Rejected(f"{where} is {len(url)} characters long; the limit is {URL_LIMIT}")
    scheme = scheme_of(url)
    if scheme is None:
        url = f"{default_scheme}:{url}" if url.startswith("//") else f"{default_scheme}://{url}"
    elif scheme not in SAFE_SCHEMES:
        raise UnsafeUrl(f"{where}: unsafe URL scheme {scheme}: dropped (only http and https)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as e:
        raise Rejected(f"{where}: {show(value)} is not a valid URL ({e})") from e
    if not parts.hostname:
        raise Rejected(f"{where}: {show(value)} has no host")
    return url


def is_hostname(value: object) -> bool:
    return isinstance(value, str) and _HOSTNAME.fullmatch(value) is not None


def build(scheme: str, host: str, *, port: int | None, path: str) -> str:
    """A URL from parts a resource declares; the port is left out when it is the default."""
    authority = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if path in ("", "/"):
        path = ""
    elif not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{authority}{path}"


def join(url: str, root_path: str | None) -> str:
    """Appends rootPath with exactly one `/` at the join, keeping any query or fragment last."""
    if not root_path:
        return url
    tail = root_path.lstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        path = parts.path.rstrip("/") + "/" + tail
        return urlunsplit(parts._replace(path=path))
    return url.rstrip("/") + "/" + tail


def checked_length(url: str, where: str) -> str:
    if len(url) > URL_LIMIT:
        raise Rejected(f"{where}: the URL is {len(url)} characters long; the limit is {URL_LIMIT}")
    return url


def icon(value: str | None, where: str, trace: Trace) -> str | None:
    """An icon name (`mdi:home`) or an image URL; an image URL must be http(s)."""
    if value is None:
        return None
    cleaned = _clean(value)
    if len(cleaned) > ICON_LIMIT:
        trace.note(f"{where} is longer than {ICON_LIMIT} characters; icon dropped")
        return None
    scheme = scheme_of(cleaned)
    unsafe = ("://" in cleaned and scheme not in SAFE_SCHEMES) or scheme in _DANGEROUS
    if unsafe:
        trace.note(f"{where}: unsafe icon URL scheme {scheme}: dropped")
        return None
    return cleaned or None
