"""URL helpers: what counts as safe, how URLs are completed and joined, property paths."""

from __future__ import annotations

import pytest

from startpunkt.sources import urls
from startpunkt.sources.fields import Rejected, Trace
from startpunkt.sources.urlfrom import extract, parse_property


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "  javascript:alert(1)",
        "\x00javascript:alert(1)",
        "java\nscript:alert(1)",
        "jav\tascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>",
        "file:///etc/passwd",
        "ftp://files.example.com",
        "mailto:admin@example.com",
    ],
)
def test_non_http_schemes_are_refused(value: str) -> None:
    with pytest.raises(urls.UnsafeUrl, match=r"unsafe URL scheme \w+: dropped"):
        urls.absolute(value, "url", "http")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Example.com/A?B=C#D", "https://Example.com/A?B=C#D"),
        ("HTTP://example.com", "HTTP://example.com"),
        (" https://example.com/x ", "https://example.com/x"),
        ("example.com/Path", "https://example.com/Path"),
        ("//cdn.example.com/x", "https://cdn.example.com/x"),
        ("localhost:8080/x", "https://localhost:8080/x"),
        ("192.168.1.10", "https://192.168.1.10"),
    ],
)
def test_explicit_urls_are_kept_or_completed(value: str, expected: str) -> None:
    assert urls.absolute(value, "url", "https") == expected


@pytest.mark.parametrize("value", ["/relative", "http://", "https://[::1", "http://a:99999"])
def test_urls_that_cannot_be_links_are_rejected(value: str) -> None:
    with pytest.raises(Rejected):
        urls.absolute(value, "url", "http")


@pytest.mark.parametrize(
    ("url", "root", "expected"),
    [
        ("https://a.example.com", "/web", "https://a.example.com/web"),
        ("https://a.example.com/", "web/", "https://a.example.com/web/"),
        ("https://a.example.com//", "//web", "https://a.example.com/web"),
        ("https://a.example.com/x?q=1", "/y", "https://a.example.com/x/y?q=1"),
        ("https://a.example.com", None, "https://a.example.com"),
        ("https://a.example.com", "", "https://a.example.com"),
    ],
)
def test_root_path_join_has_exactly_one_slash(url: str, root: str | None, expected: str) -> None:
    assert urls.join(url, root) == expected


@pytest.mark.parametrize(
    ("scheme", "port", "expected"),
    [
        ("http", 80, "http://h.example.com/p"),
        ("https", 443, "https://h.example.com/p"),
        ("http", 443, "http://h.example.com:443/p"),
        ("https", 8443, "https://h.example.com:8443/p"),
        ("https", None, "https://h.example.com/p"),
    ],
)
def test_default_ports_are_left_out(scheme: str, port: int | None, expected: str) -> None:
    assert urls.build(scheme, "h.example.com", port=port, path="p") == expected


@pytest.mark.parametrize(
    ("icon", "kept"),
    [
        ("mdi:home", True),
        ("simple-icons:github", True),
        ("https://cdn.example.com/Icon.PNG", True),
        ("http://cdn.example.com/icon.png", True),
        ("ftp://cdn.example.com/icon.png", False),
        ("javascript:alert(1)", False),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
    ],
)
def test_icons_that_are_urls_must_be_http(icon: str, kept: bool) -> None:
    trace = Trace()
    assert (urls.icon(icon, "icon", trace) == icon) is kept
    assert bool(trace.notes) is not kept


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("data.grafana", ["data", "grafana"]),
        ("status.loadBalancer.ingress[0].ip", ["status", "loadBalancer", "ingress", 0, "ip"]),
        ("{.data.url}", ["data", "url"]),
        ("data['grafana.url']", ["data", "grafana.url"]),
        ('spec.ports[1]["node.port"]', ["spec", "ports", 1, "node.port"]),
    ],
)
def test_property_paths(path: str, steps: list[str | int]) -> None:
    assert parse_property(path) == steps


@pytest.mark.parametrize("path", ["", "data..x", "data[x]", "data[0", "a" + ".b" * 70])
def test_malformed_property_paths(path: str) -> None:
    assert parse_property(path) is None


def test_extract_follows_steps_and_stops_at_the_wrong_shape() -> None:
    obj = {"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}
    assert extract(obj, ["status", "loadBalancer", "ingress", 0, "ip"]) == "10.0.0.1"
    assert extract(obj, ["status", "loadBalancer", "ingress", 1, "ip"]) is None
    assert extract(obj, ["status", 0]) is None
