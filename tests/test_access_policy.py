"""Who may see what (`startpunkt.access`): the rule, and the audiences that share its answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from startpunkt.access import (
    ANONYMOUS,
    OPEN,
    Audience,
    Policy,
    Viewer,
    audience,
    may_see,
    relevant_groups,
    visible,
)
from startpunkt.config import Access
from startpunkt.model import Application, Bookmark, Item


def app(name: str, *groups: str) -> Application:
    return Application(
        key=f"s/ns/{name}",
        name=name,
        group="G",
        url=f"https://{name}.example",
        source="s",
        namespace="ns",
        resource_name=name,
        groups=groups,
    )


def mark(name: str, *groups: str) -> Bookmark:
    return Bookmark(
        key=f"b/ns/{name}",
        name=name,
        group="G",
        url=f"https://{name}.example",
        source="b",
        namespace="ns",
        resource_name=name,
        groups=groups,
    )


def policy(default: Any = "everyone", admins: tuple[str, ...] = ("admins",)) -> Policy:
    return Policy.of(
        Access.model_validate(
            {"proxy": {"trustedProxies": ["127.0.0.1"]}, "default": default, "admins": admins}
        )
    )


ALICE = policy().viewer("alice", ["family"])
BOB = policy().viewer("bob", ["work"])
ROOT = policy().viewer("root", ["admins"])
ITEMS = [app("family", "family"), app("work", "work"), app("both", "family", "work"), app("all")]


def names(items: tuple[Item, ...]) -> list[str]:
    return [i.name for i in items]


def test_without_access_configured_everyone_sees_everything() -> None:
    assert Policy.of(Access()) == OPEN
    for viewer in (ANONYMOUS, ALICE, BOB):
        assert names(visible(ITEMS, viewer, OPEN)) == ["family", "work", "both", "all"]


def test_members_see_their_groups_items_and_those_without_groups() -> None:
    p = policy()
    assert names(visible(ITEMS, ALICE, p)) == ["family", "both", "all"]
    assert names(visible(ITEMS, BOB, p)) == ["work", "both", "all"]
    assert names(visible(ITEMS, ANONYMOUS, p)) == ["all"]


def test_admins_see_everything() -> None:
    assert ROOT.is_admin
    assert names(visible(ITEMS, ROOT, policy("nobody"))) == ["family", "work", "both", "all"]


@pytest.mark.parametrize(
    ("default", "anonymous", "signed_in"),
    [("everyone", True, True), ("authenticated", False, True), ("nobody", False, False)],
)
def test_the_default_decides_items_without_groups(
    default: str, anonymous: bool, signed_in: bool
) -> None:
    p = policy(default)
    assert may_see(ANONYMOUS, app("x"), p) is anonymous
    assert may_see(p.viewer("carol"), app("x"), p) is signed_in
    assert may_see(p.viewer("carol"), mark("x"), p) is signed_in  # bookmarks alike


def test_group_names_are_compared_exactly() -> None:
    p = policy()
    assert not may_see(p.viewer("a", ["Family"]), app("x", "family"), p)
    assert not may_see(p.viewer("a", ["Admins"]), app("x", "work"), p)


def test_groups_without_a_user_do_not_count() -> None:
    p = policy()
    assert p.viewer(None, ["admins"]) == ANONYMOUS
    assert p.viewer("", ["family"]) == ANONYMOUS


def test_viewers_with_unrelated_extra_groups_share_an_audience() -> None:
    p = policy()
    relevant = relevant_groups(ITEMS)
    one = audience(p.viewer("a", ["family", "chess-club"]), p, relevant)
    two = audience(p.viewer("b", ["family", "book-club"]), p, relevant)
    assert one == two
    assert one.tag == two.tag
    assert audience(ROOT, p, relevant) == audience(p.viewer("z", ["admins", "x"]), p, relevant)
    assert audience(ALICE, p, relevant) != audience(BOB, p, relevant)
    assert audience(ALICE, OPEN, relevant) == audience(ANONYMOUS, OPEN, relevant) == Audience()


def test_audience_tags_never_spell_group_names() -> None:
    tag = Audience(True, frozenset({"family"})).tag
    assert "family" not in tag
    assert tag != Audience(True, frozenset({"work"})).tag != Audience(False, frozenset()).tag


group_names = st.sampled_from(["a", "b", "c", "admins", "A"])
viewers = st.builds(
    lambda user, groups: (user, groups),
    st.none() | st.sampled_from(["u", "v"]),
    st.frozensets(group_names | st.text(max_size=3), max_size=4),
)
items = st.lists(
    st.builds(
        lambda i, groups, kind: (app if kind else mark)(f"i{i}", *groups),
        st.integers(0, 999),
        st.lists(group_names, max_size=3, unique=True),
        st.booleans(),
    ),
    max_size=8,
)
policies = st.builds(
    policy,
    st.sampled_from(["everyone", "authenticated", "nobody"]),
    st.sampled_from([(), ("admins",), ("a", "admins")]),
)


@settings(max_examples=300, deadline=None)
@given(viewers, items, policies)
def test_the_audience_sees_exactly_what_each_of_its_viewers_sees(
    raw: tuple[str | None, frozenset[str]], things: list[Item], p: Policy
) -> None:
    viewer = p.viewer(*raw)
    seen_by = audience(viewer, p, relevant_groups(things))
    for item in things:
        assert may_see(seen_by, item, p) == may_see(viewer, item, p)


@settings(max_examples=300, deadline=None)
@given(viewers, items, policies, st.frozensets(group_names, max_size=2))
def test_more_groups_never_see_less_and_admins_see_all(
    raw: tuple[str | None, frozenset[str]], things: list[Item], p: Policy, extra: frozenset[str]
) -> None:
    viewer = p.viewer(*raw)
    more = p.viewer(raw[0], raw[1] | extra)
    assert set(visible(things, viewer, p)) <= set(visible(things, more, p))
    assert set(visible(things, ANONYMOUS, p)) <= set(visible(things, viewer, p))
    admin = Viewer("root", frozenset(), is_admin=True)
    assert visible(things, admin, p) == tuple(things)
