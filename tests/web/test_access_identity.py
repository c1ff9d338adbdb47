"""The identity component: each preset's headers, believed only from a trusted proxy."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from startpunkt.access import ANONYMOUS, Viewer
from startpunkt.config import Access
from startpunkt.web.identity import GROUP_LIMIT, REMEMBERED, USER_LENGTH, Identity
from tests.web.accessdata import APPS, SEES, fill, names_in, settings
from tests.web.conftest import MakeSite


def access(preset: str = "oauth2-proxy", trusted: tuple[str, ...] = ("10.0.0.0/8",)) -> Access:
    return Access.model_validate(
        {"proxy": {"preset": preset, "trustedProxies": list(trusted)}, "admins": ["admins"]}
    )


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("not called in these tests")


def scope(host: str, **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (host, 4321) if host else None,
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("preset", "headers", "expected"),
    [
        (
            "oauth2-proxy",
            {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "family, admins"},
            Viewer("alice", frozenset({"family", "admins"}), True),
        ),
        (
            "oauth2-proxy",
            {"X-Forwarded-Email": "bob@example.org", "X-Forwarded-Groups": "work"},
            Viewer("bob@example.org", frozenset({"work"}), False),
        ),
        (
            "authelia",
            {"Remote-User": "carol", "Remote-Groups": "family,work"},
            Viewer("carol", frozenset({"family", "work"}), False),
        ),
        (
            "authentik",
            {"X-authentik-username": "dave", "X-authentik-groups": "authentik Admins|family"},
            Viewer("dave", frozenset({"authentik Admins", "family"}), False),
        ),
    ],
)
def test_each_preset_reads_its_proxys_headers(
    preset: str, headers: dict[str, str], expected: Viewer
) -> None:
    identity = Identity(_app, access(preset))
    raw = {"type": "http", "client": ("10.1.2.3", 5), "headers": []}
    raw["headers"] = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    assert identity.viewer(raw) == expected


def test_other_presets_headers_are_not_read() -> None:
    identity = Identity(_app, access("authelia"))
    assert identity.viewer(scope("10.0.0.1", X_Forwarded_User="alice")) == ANONYMOUS


def test_groups_without_a_user_are_anonymous() -> None:
    identity = Identity(_app, access())
    assert identity.viewer(scope("10.0.0.1", X_Forwarded_Groups="admins")) == ANONYMOUS


@pytest.mark.parametrize(
    ("host", "trusted"),
    [
        ("10.20.30.40", True),
        ("::ffff:10.20.30.40", True),  # an IPv4 proxy seen through a dual-stack socket
        ("11.0.0.1", False),
        ("fd00::1", False),
        ("", False),  # no peer address (a Unix socket)
        ("testclient", False),
    ],
)
def test_headers_count_only_from_a_trusted_address(host: str, trusted: bool) -> None:
    identity = Identity(_app, access())
    viewer = identity.viewer(scope(host, X_Forwarded_User="root", X_Forwarded_Groups="admins"))
    assert viewer.is_admin is trusted
    assert (viewer == ANONYMOUS) is not trusted


def test_overlong_values_are_bounded() -> None:
    identity = Identity(_app, access())
    groups = ",".join([f"g{i}" for i in range(GROUP_LIMIT * 2)] + ["x" * 1000])
    viewer = identity.viewer(
        scope("10.0.0.1", X_Forwarded_User="u" * 10_000, X_Forwarded_Groups=groups)
    )
    assert viewer.user is not None
    assert len(viewer.user) == USER_LENGTH
    assert len(viewer.groups) == GROUP_LIMIT
    assert "x" * 1000 not in viewer.groups


def test_untrusted_senders_are_logged_once_each_in_bounded_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    identity = Identity(_app, access())
    forged = {"X_Forwarded_User": "root", "X_Forwarded_Groups": "admins"}
    with caplog.at_level(logging.WARNING, logger="startpunkt.web.identity"):
        for _ in range(3):
            identity.viewer(scope("192.0.2.1", **forged))
        identity.viewer(scope("192.0.2.2", **forged))
        identity.viewer(scope("192.0.2.3"))  # no identity headers: nothing to report
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "192.0.2.1" in lines[0]
    assert "192.0.2.2" in lines[1]
    for i in range(REMEMBERED * 3):
        identity.viewer(scope(f"2001:db8::{i:x}", **forged))
    assert len(identity._warned) <= REMEMBERED
    assert len(identity._trust) <= REMEMBERED


async def test_a_preset_end_to_end_over_http(make_site: MakeSite) -> None:
    config = settings()
    config = config.model_copy(
        update={
            "access": Access.model_validate(
                {
                    "proxy": {"preset": "authentik", "trustedProxies": ["127.0.0.1"]},
                    "admins": ["admins"],
                }
            )
        }
    )
    site = await make_site(config)
    fill(site.store, config)
    a = await site.get(
        "/api/apps", headers={"X-authentik-username": "a", "X-authentik-groups": "chess|family"}
    )
    assert names_in(a.json(), "applications") == SEES["A"] & set(APPS)
    assert "x-authentik-groups" in a.headers["vary"].lower()
    # the oauth2-proxy headers mean nothing to this preset
    forged = await site.get(
        "/api/apps", headers={"X-Forwarded-User": "root", "X-Forwarded-Groups": "admins"}
    )
    assert names_in(forged.json(), "applications") == SEES["anonymous"] & set(APPS)
