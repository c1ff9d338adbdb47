"""`/theme.css`: the configured light and dark colours as CSS variables.

Served as a stylesheet rather than an inline `<style>`, so the page's CSP can forbid inline
styles. The configured colours are the original's five per scheme; text colours that would be
hard to read on the configured background (the original's dark default, #696969 on #232530, is
3:1) are nudged until they reach WCAG AA, so the page passes an accessibility audit with any
reasonable configuration.
"""

from __future__ import annotations

import re

from startpunkt.config import Theme, ThemeColors

RGB = tuple[float, float, float]

_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

# availability and verdict colours per scheme: (foreground, background)
_STATES = {
    "light": {
        "up": ("#146c2e", "#dcf5e3"),
        "down": ("#a1161b", "#fde2e1"),
        "degraded": ("#7a4a00", "#fdeecd"),
        "scaled": ("#3d4b8f", "#e3e7fb"),
        "unknown": ("#4f5358", "#e8e9eb"),
    },
    "dark": {
        "up": ("#8fe0a5", "#173523"),
        "down": ("#ffb3ae", "#45191a"),
        "degraded": ("#ffd480", "#3f2f0e"),
        "scaled": ("#b8c3ff", "#232b4f"),
        "unknown": ("#c4c7cc", "#33363c"),
    },
}


def parse(color: str) -> RGB | None:
    match = _HEX.match(color.strip())
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def hex_of(rgb: RGB) -> str:
    return "#" + "".join(f"{round(max(0.0, min(255.0, c))):02x}" for c in rgb)


def _luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(a: RGB, b: RGB, amount: float) -> RGB:
    """`amount` of b in a."""
    return (
        a[0] + (b[0] - a[0]) * amount,
        a[1] + (b[1] - a[1]) * amount,
        a[2] + (b[2] - a[2]) * amount,
    )


def readable(color: RGB, backgrounds: tuple[RGB, ...], target: float = 4.7) -> RGB:
    """`color`, moved towards black or white just enough to reach `target` on every background."""
    darkest = min(_luminance(bg) for bg in backgrounds)
    toward: RGB = (0.0, 0.0, 0.0) if darkest > 0.18 else (255.0, 255.0, 255.0)
    for step in range(21):
        candidate = mix(color, toward, step / 20)
        if all(contrast(candidate, bg) >= target for bg in backgrounds):
            return candidate
    return toward


def variables(colors: ThemeColors, scheme: str) -> dict[str, str]:
    dark = scheme == "dark"
    fallback_bg = "#1b1d24" if dark else "#f7f7f5"
    bg = parse(colors.body_bg_color) or parse(fallback_bg)
    assert bg is not None
    white: RGB = (255.0, 255.0, 255.0)
    surface = mix(bg, white, 0.06 if dark else 0.75)
    raised = mix(bg, white, 0.11 if dark else 0.9)
    grounds = (bg, surface, raised)

    def text(value: str, default: str, *, on: tuple[RGB, ...], target: float = 4.7) -> str:
        rgb = parse(value) or parse(default)
        assert rgb is not None
        return hex_of(readable(rgb, on, target))

    accent_rgb = parse(text(colors.text_accent_color, colors.text_primary_color, on=grounds))
    assert accent_rgb is not None
    # chips, tags and the selected search result sit on a tint of the accent
    soft = mix(surface, accent_rgb, 0.14)
    tinted = (*grounds, soft)
    body = text(colors.body_color, "#cccccc" if dark else "#444444", on=tinted)
    primary = text(colors.text_primary_color, body, on=tinted)
    values = {
        "--bg": hex_of(bg),
        "--surface": hex_of(surface),
        "--surface-raised": hex_of(raised),
        "--text": body,
        "--muted": hex_of(readable(mix(parse(body) or bg, bg, 0.25), tinted)),
        "--emphasis": text(colors.emphasis_color, primary, on=tinted),
        "--primary": primary,
        "--accent": hex_of(accent_rgb),
        "--on-accent": hex_of(readable(bg, (accent_rgb,))),
        "--accent-soft": hex_of(soft),
        "--border": hex_of(mix(surface, parse(body) or white, 0.16 if dark else 0.14)),
        "--shadow": "0 1px 2px rgb(0 0 0 / 0.28)" if dark else "0 1px 2px rgb(0 0 0 / 0.06)",
        "--shadow-hover": (
            "0 6px 20px rgb(0 0 0 / 0.4)" if dark else "0 6px 18px rgb(40 30 10 / 0.12)"
        ),
    }
    for state, (fg, back) in _STATES["dark" if dark else "light"].items():
        values[f"--{state}"] = fg
        values[f"--{state}-bg"] = back
    return values


def _block(selector: str, scheme: str, values: dict[str, str]) -> str:
    lines = [f"{selector} {{", f"  color-scheme: {scheme};"]
    lines += [f"  {name}: {value};" for name, value in values.items()]
    lines.append("}")
    return "\n".join(lines)


def stylesheet(theme: Theme) -> str:
    light = variables(theme.light, "light")
    dark = variables(theme.dark, "dark")
    return "\n".join(
        [
            "/* generated from startpunkt.web.theme */",
            _block(":root", "light", light),
            "@media (prefers-color-scheme: dark) {",
            _block(':root:not([data-theme="light"])', "dark", dark),
            "}",
            _block(':root[data-theme="dark"]', "dark", dark),
            "",
        ]
    )
