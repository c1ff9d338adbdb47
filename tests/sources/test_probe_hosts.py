"""Which hosts a probe of an app may contact: its own, and what `healthUrlHosts` lists."""

from __future__ import annotations

import pytest

from startpunkt.sources.hosts import allowed


@pytest.mark.parametrize(
    ("url", "own", "patterns", "expected"),
    [
        ("http://shop.example:8081/healthz", "https://shop.example/", (), True),
        ("http://SHOP.example./healthz", "https://shop.example/", (), True),
        ("http://127.0.0.1:2379/version", "https://shop.example/", (), False),
        ("http://shop.shop.svc:8080/", "https://shop.example/", ("*.svc",), True),
        ("http://svc/", "https://shop.example/", ("*.svc",), False),
        ("http://evilsvc/", "https://shop.example/", ("*.svc",), False),
        ("http://10.0.0.1/", "https://shop.example/", ("10.0.0.1",), True),
        ("http://[::1]:80/", "https://shop.example/", ("[::1]",), True),
        ("http://anything.example/", "https://shop.example/", ("*",), True),
        ("http://shop.example/", None, (), False),
        ("not a url", "https://shop.example/", ("*",), False),
    ],
)
def test_allowed(url: str, own: str | None, patterns: tuple[str, ...], expected: bool) -> None:
    assert allowed(url, own, patterns) is expected
