"""`/api/i8n/en-US` and `/api/i8n/sv-SE` serve every key the original's UI reads, so its panels
are translated too, merged with the keys this project's page uses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Site

# the original's en-US.json of v3.5.0: 97 keys, by prefix
ORIGINAL = """
home: applications bookmarks skipToContent loading checkingForItems noItemsHelp
home: noItemsAvailable noItemsConfigured pleaseAddItems
home.theme: toggle light dark auto
background: title settings type themeMode color primaryColor secondaryColor gradientDirection
background: imageUrl imageUrlPlaceholder imageUrlHelp patternSeed patternSeedPlaceholder
background: patternSeedHelp patternColor blur opacity timeGradientInfo meshColors meshColorsHelp
background: meshComplexity meshAnimated meshAnimatedHelp contentOverlay contentOverlayHelp
background: overlayOpacity resetToDefaults
background.types: theme solid gradient timeGradient meshGradient image pictureOfDay geopattern
background.directions: toBottom toTop toRight toLeft toBottomRight toBottomLeft
background.complexity: low medium high
layout: title settings columns spacing compactMode editMode editModeHelp showHide description
layout: tags statusIndicators presets presetName save cancel delete saveCurrentPreset
layout: resetToDefaults cannotEdit managedExternally
layout.spacingTypes: tight normal relaxed
accessibility: title settings fontSize decreaseFontSize resetFontSize increaseFontSize
accessibility: highContrastMode highContrastHelp keyboardShortcuts
accessibility.shortcut: search navigateForward navigateBack
search: title placeholder noResults
search.resultsBadge: bookmark app
"""


def expand(table: str) -> list[str]:
    keys: list[str] = []
    for line in table.strip().splitlines():
        prefix, names = line.split(":")
        keys += [f"{prefix}.{name}" for name in names.split()]
    return keys


ORIGINAL_KEYS = expand(ORIGINAL)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = value
    return flat


def test_the_list_is_the_originals_97_keys() -> None:
    assert len(ORIGINAL_KEYS) == len(set(ORIGINAL_KEYS)) == 97


@pytest.mark.parametrize("language", ["en-US", "sv-SE"])
async def test_every_key_of_the_original_is_served(site: Site, language: str) -> None:
    response = await site.get(f"/api/i8n/{language}")
    served = flatten(response.json())

    missing = [key for key in ORIGINAL_KEYS if key not in served]
    assert missing == []
    assert all(isinstance(served[k], str) and served[k].strip() for k in ORIGINAL_KEYS)
    # and the page's own keys are still there
    assert {"status.up", "diagnostics.title", "live.connected"} <= set(served)


async def test_both_languages_have_the_same_keys_and_the_swedish_is_swedish(site: Site) -> None:
    english = flatten((await site.get("/api/i8n/en-US")).json())
    swedish = flatten((await site.get("/api/i8n/sv-SE")).json())

    assert set(english) == set(swedish)
    same = [k for k in ORIGINAL_KEYS if english[k] == swedish[k]]
    assert same == ["home.theme.auto", "layout.title"]  # "Auto" and "Layout" in Swedish too
