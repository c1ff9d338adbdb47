"""Who may see what: the viewer a trusted proxy vouched for, an item's groups, and the policy.

Pure values and functions, shared by every way out (the page, the REST API, the event stream,
metrics), so the rule is written once. Without `access.proxy` in the configuration the policy is
`OPEN` and everyone sees everything, as before.

Viewers are many and change little, so they are grouped into audiences: two viewers with the
same `Audience` see exactly the same items, and a document or an event is encoded once per
audience, not once per client. An audience keeps only the viewer's groups that some item
names (`relevant`), so a household of a hundred people with unrelated extra groups is still
one or two audiences.

Group names are compared exactly as written (case included): the proxy's groups come from an
identity provider, where `Admins` and `admins` may be different groups, and a mismatch hides an
item rather than showing it to someone it was not meant for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from startpunkt.config import Access
from startpunkt.model import Item

Default = Literal["everyone", "authenticated", "nobody"]
T = TypeVar("T", bound=Item)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: the user and groups a trusted proxy sent; anonymous when it sent none."""

    user: str | None = None
    groups: frozenset[str] = frozenset()
    is_admin: bool = False

    @property
    def authenticated(self) -> bool:
        return self.user is not None


ANONYMOUS = Viewer()


@dataclass(frozen=True, slots=True)
class Audience:
    """All viewers who see the same items: the flags and the groups that matter for them."""

    authenticated: bool = False
    groups: frozenset[str] = frozenset()
    is_admin: bool = False

    @property
    def tag(self) -> str:
        """A short stable name for ETags and logs; never the group names themselves."""
        text = "\n".join([f"a{int(self.authenticated)}{int(self.is_admin)}", *sorted(self.groups)])
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


class Seer(Protocol):
    """A Viewer or an Audience: what `may_see` needs."""

    @property
    def authenticated(self) -> bool: ...

    @property
    def groups(self) -> frozenset[str]: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Policy:
    enabled: bool = False
    default: Default = "everyone"  # who sees an item that names no groups
    admins: frozenset[str] = frozenset()  # members see everything, and the operator pages

    @staticmethod
    def of(access: Access) -> Policy:
        if not access.enabled:
            return OPEN
        return Policy(True, access.default, frozenset(access.admins))

    def viewer(self, user: str | None, groups: Iterable[str] = ()) -> Viewer:
        """The viewer for what a trusted proxy said; groups count only for a signed-in user."""
        if not user:
            return ANONYMOUS
        own = frozenset(groups)
        return Viewer(user, own, not own.isdisjoint(self.admins))


OPEN = Policy()


def may_see(viewer: Seer, item: Item, policy: Policy) -> bool:
    """Whether `viewer` may see `item`: admins see all; an item with groups is for their
    members; one without is for the policy's default audience."""
    return allowed(viewer, item.groups, policy)


def allowed(viewer: Seer, groups: tuple[str, ...], policy: Policy) -> bool:
    """`may_see` for an item that lists `groups` (what an event remembers of its item)."""
    if not policy.enabled or viewer.is_admin:
        return True
    if groups:
        return not viewer.groups.isdisjoint(groups)
    if policy.default == "everyone":
        return True
    return policy.default == "authenticated" and viewer.authenticated


def relevant_groups(items: Iterable[Item]) -> frozenset[str]:
    """Every group some item names: the only groups that can change what a viewer sees."""
    found: set[str] = set()
    for item in items:
        found.update(item.groups)
    return frozenset(found)


def audience(viewer: Viewer, policy: Policy, relevant: frozenset[str] | None = None) -> Audience:
    """The viewer's audience; with `relevant`, groups no item names are left out, so more
    viewers share one. Every viewer in an audience sees what `may_see(audience, ...)` says."""
    if not policy.enabled:
        return Audience()
    if viewer.is_admin:
        return Audience(authenticated=True, is_admin=True)
    groups = viewer.groups if relevant is None else viewer.groups & relevant
    return Audience(viewer.authenticated, groups)


def visible(items: Iterable[T], viewer: Seer, policy: Policy) -> tuple[T, ...]:
    return tuple(item for item in items if may_see(viewer, item, policy))
