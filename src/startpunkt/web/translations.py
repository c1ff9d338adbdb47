"""The page's strings in en-US and sv-SE, and which language a request gets.

The bundles in `web/i18n/` are the same files `/api/i8n/{lang}` serves, so the server-rendered
page and the JavaScript (which reads the bundle embedded in the page) always agree.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

SUPPORTED = ("en-US", "sv-SE")
FALLBACK = "en-US"
COOKIE = "lang"


@functools.cache
def bundle(language: str) -> Mapping[str, Any]:
    """The raw bundle of a supported language."""
    if language not in SUPPORTED:
        raise KeyError(language)
    text = resources.files("startpunkt.web").joinpath(f"i18n/{language}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _lookup(tree: Mapping[str, Any], key: str) -> str | None:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


class Translator:
    """`t("home.applications")`, falling back to en-US, then to the key itself."""

    def __init__(self, language: str) -> None:
        self.language = language if language in SUPPORTED else FALLBACK
        self.strings = bundle(self.language)

    def __call__(self, key: str, **values: object) -> str:
        text = _lookup(self.strings, key) or _lookup(bundle(FALLBACK), key) or key
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text


def _match(tag: str) -> str | None:
    """`sv`, `sv-se`, `sv-FI` -> sv-SE; unsupported -> None."""
    tag = tag.strip().lower()
    if not tag or tag == "*":
        return None
    for supported in SUPPORTED:
        if tag == supported.lower():
            return supported
    primary = tag.split("-")[0]
    for supported in SUPPORTED:
        if supported.lower().split("-")[0] == primary:
            return supported
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language in an Accept-Language header, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and (found := _match(tag)):
            ranked.append((-quality, position, found))
    return min(ranked)[2] if ranked else None


def choose(query: str | None, cookie: str | None, accept_language: str | None, default: str) -> str:
    """`?lang=`, then the cookie it set, then Accept-Language, then the configured default."""
    for candidate in (query, cookie):
        if candidate and (found := _match(candidate)):
            return found
    return from_accept_language(accept_language) or _match(default) or FALLBACK
