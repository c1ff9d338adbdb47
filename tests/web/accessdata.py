"""Items meant for different people, and the people: shared by the access tests.

Four applications and three bookmarks, each with a name and URL no other item contains, so a
test can search a whole response body for anything that must not be there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from startpunkt.config import Settings
from startpunkt.runtime import SourceMapper
from startpunkt.store import Store

APP_SOURCE = "startpunkt-application"
BOOKMARK_SOURCE = "startpunkt-bookmark"
USER, GROUPS, EMAIL = "X-Forwarded-User", "X-Forwarded-Groups", "X-Forwarded-Email"

# name -> (groups, tags)
APPS: dict[str, tuple[list[str], str]] = {
    "Familyonly": (["family"], "home"),
    "Workonly": (["work"], "office"),
    "Bothgroups": (["family", "work"], ""),
    "Everyoneapp": ([], "common"),
}
BOOKMARKS: dict[str, list[str]] = {
    "Familymark": ["family"],
    "Workmark": ["work"],
    "Publicmark": [],
}
IDENTITIES: dict[str, dict[str, str]] = {
    "anonymous": {},
    "A": {USER: "alice", GROUPS: "family,chess"},
    "B": {USER: "bob", GROUPS: "work"},
    "admin": {USER: "root", GROUPS: "admins", EMAIL: "root@example.org"},
}
SEES: dict[str, set[str]] = {
    "anonymous": {"Everyoneapp", "Publicmark"},
    "A": {"Familyonly", "Bothgroups", "Everyoneapp", "Familymark", "Publicmark"},
    "B": {"Workonly", "Bothgroups", "Everyoneapp", "Workmark", "Publicmark"},
    "admin": {*APPS, *BOOKMARKS},
}
ALL = {*APPS, *BOOKMARKS}


def settings(trusted: Iterable[str] = ("127.0.0.1",), **access: Any) -> Settings:
    return Settings.model_validate(
        {
            "access": {
                "proxy": {"preset": "oauth2-proxy", "trustedProxies": list(trusted)},
                "admins": ["admins"],
                **access,
            },
            "availability": {"enabled": False},
        }
    )


def url_of(name: str) -> str:
    return f"https://{name.lower()}.example"


def application(name: str, groups: list[str], tags: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "group": "Tools", "url": url_of(name)}
    if groups:
        spec["groups"] = groups
    if tags:
        spec["tags"] = tags
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"namespace": "default", "name": name.lower()},
        "spec": spec,
    }


def bookmark(name: str, groups: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "group": "Links", "url": url_of(name)}
    if groups:
        spec["groups"] = groups
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Bookmark",
        "metadata": {"namespace": "default", "name": name.lower()},
        "spec": spec,
    }


def fill(store: Store, config: Settings) -> None:
    """Maps the items with the real Startpunkt mappers, as a cluster would deliver them."""
    store.mapper = SourceMapper(config, store)
    for name, (groups, tags) in APPS.items():
        store.apply(APP_SOURCE, "ADDED", application(name, groups, tags))
    for name, groups in BOOKMARKS.items():
        store.apply(BOOKMARK_SOURCE, "ADDED", bookmark(name, groups))


def names_in(document: Mapping[str, Any], member: str) -> set[str]:
    return {item["name"] for group in document["groups"] for item in group[member]}


def leaked(body: str, who: str) -> set[str]:
    """Items `who` may not see whose name (in any case: keys spell it lower-case) appears
    anywhere in `body`."""
    folded = body.casefold()
    return {n for n in ALL - SEES[who] if n.casefold() in folded}
