"""Icons resolve locally from the installed packs; the theme stays readable whatever is set."""

from __future__ import annotations

import pytest

from startpunkt.config import Theme, ThemeColors
from startpunkt.web import icons, theme


@pytest.mark.parametrize(
    ("spec", "href"),
    [
        ("mdi:chef-hat", "/icons/mdi/chef-hat.svg"),
        ("chef-hat", "/icons/mdi/chef-hat.svg"),
        ("MDI:Chef-Hat", "/icons/mdi/chef-hat.svg"),
        ("mdi-chef-hat", "/icons/mdi/chef-hat.svg"),
        ("simple-icons:grafana", "/icons/si/grafana.svg"),
        ("si:grafana", "/icons/si/grafana.svg"),
        ("si:Home Assistant", "/icons/si/homeassistant.svg"),
    ],
)
def test_set_icons_resolve_to_a_local_file(spec: str, href: str) -> None:
    icon = icons.resolve(spec, "App")
    assert icon.kind == "set"
    assert icon.href == href


@pytest.mark.parametrize(
    "spec",
    [None, "", "mdi:no-such-icon", "logos:kubernetes", "javascript:alert(1)", "data://x", "si:"],
)
def test_anything_else_is_a_letter_in_a_colour_picked_from_the_name(spec: str | None) -> None:
    icon = icons.resolve(spec, "  grafana")
    assert icon.kind == "letter"
    assert icon.letter == "G"
    assert icon.color == icons.letter_color("grafana")
    assert icon.color in icons.LETTER_COLORS


def test_a_colour_applies_only_when_it_is_a_plain_css_colour() -> None:
    assert icons.resolve("mdi:home", "x", "#f00").color == "#f00"
    assert icons.resolve("mdi:home", "x", "rgb(1, 2, 3)").color == "rgb(1, 2, 3)"
    assert icons.resolve("mdi:home", "x", "red;background:url(x)").color == "currentColor"
    assert icons.resolve("mdi:home", "x", 'red" onload="x').color == "currentColor"


def test_letter_colours_are_readable_behind_white_text() -> None:
    white = (255.0, 255.0, 255.0)
    for color in icons.LETTER_COLORS:
        rgb = theme.parse(color)
        assert rgb is not None
        assert theme.contrast(rgb, white) >= 4.5, color


def test_the_served_svg_is_a_reusable_symbol_without_a_title() -> None:
    body = icons.svg("si", "grafana")
    assert body is not None
    assert body.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">')
    assert '<symbol id="i"' in body
    assert "<title>" not in body
    assert icons.svg("mdi", "../../etc/passwd") is None
    assert icons.svg("other", "home") is None


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_text_reaches_aa_contrast_even_with_the_originals_dark_default(scheme: str) -> None:
    values = theme.variables(getattr(Theme(), scheme), scheme)
    for ground in ("--bg", "--surface", "--surface-raised", "--accent-soft"):
        back = theme.parse(values[ground])
        assert back is not None
        texts = ["--text", "--muted", "--primary", "--emphasis"]
        if ground != "--accent-soft":
            texts.append("--accent")  # links never sit on the tint
        for text in texts:
            fore = theme.parse(values[text])
            assert fore is not None
            assert theme.contrast(fore, back) >= 4.5, (scheme, text, ground)


def test_unreadable_configured_colours_are_nudged() -> None:
    colours = ThemeColors(
        body_bg_color="#ffffff",
        body_color="#eeeeee",
        emphasis_color="#fafafa",
        text_primary_color="#f0f0f0",
        text_accent_color="#ffff00",
    )
    values = theme.variables(colours, "light")
    white = (255.0, 255.0, 255.0)
    for name in ("--text", "--emphasis", "--primary", "--accent"):
        rgb = theme.parse(values[name])
        assert rgb is not None
        assert theme.contrast(rgb, white) >= 4.5, name


def test_the_stylesheet_has_light_dark_and_auto() -> None:
    css = theme.stylesheet(Theme())
    assert ":root {" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert ':root:not([data-theme="light"])' in css
    assert ':root[data-theme="dark"]' in css
