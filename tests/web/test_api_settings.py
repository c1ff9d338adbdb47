"""`/api/config`, `/api/theme` and `/api/i8n`: the original's shapes and language fallbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import startpunkt.web
from tests.web.conftest import MakeSite, Site, settings_of

BUNDLES = Path(startpunkt.web.__file__).parent / "i18n"


def bundle(language: str) -> object:
    return json.loads((BUNDLES / f"{language}.json").read_text(encoding="utf-8"))


async def test_config_has_the_original_keys(make_site: MakeSite) -> None:
    site = await make_site(
        settings_of(
            web={"title": "Home", "refreshInterval": 30, "githubLink": {"enabled": False}},
            realtime={"heartbeatInterval": "15s"},
        )
    )

    response = await site.get("/api/config")

    assert response.json() == {
        "config": {
            "version": "1.2.3",
            "web": {
                "showGithubLink": False,
                "checkForUpdates": False,
                "title": "Home",
                "refreshInterval": 30,
                "searchEngine": "https://duckduckgo.com/?q=",
            },
            "realtime": {"enabled": True, "heartbeatInterval": 15000},
            "websocket": {"enabled": True},
        }
    }


async def test_theme_has_light_and_dark_colours(make_site: MakeSite) -> None:
    site = await make_site(settings_of(web={"theme": {"dark": {
        "bodyBgColor": "#000000", "bodyColor": "#111111", "emphasisColor": "#222222",
        "textPrimaryColor": "#333333", "textAccentColor": "#444444",
    }}}))  # fmt: skip

    body = (await site.get("/api/theme")).json()

    assert body["dark"] == {
        "bodyBgColor": "#000000",
        "bodyColor": "#111111",
        "emphasisColor": "#222222",
        "textPrimaryColor": "#333333",
        "textAccentColor": "#444444",
    }
    assert body["light"]["bodyBgColor"] == "#F8F6F1"


async def test_a_known_language_serves_its_bundle(site: Site) -> None:
    response = await site.get("/api/i8n/sv-SE")

    assert response.status_code == 200
    assert response.headers["content-language"] == "sv-SE"
    assert response.json() == bundle("sv-SE")


async def test_an_unknown_language_falls_back_to_the_same_language_then_the_default(
    make_site: MakeSite,
) -> None:
    english = await make_site()
    swedish = await make_site(settings_of(defaultLanguage="sv-SE"))

    assert (await english.get("/api/i8n/de-DE")).json() == bundle("en-US")
    assert (await swedish.get("/api/i8n/de-DE")).json() == bundle("sv-SE")
    assert (await english.get("/api/i8n/sv")).headers["content-language"] == "sv-SE"
    assert (await swedish.get("/api/i8n/en-GB")).headers["content-language"] == "en-US"


async def test_a_malformed_language_is_a_400_naming_the_format(site: Site) -> None:
    response = await site.get("/api/i8n/english")
    newline = await site.get("/api/i8n/en%0A")
    lower = await site.get("/api/i8n/sv-se")

    assert newline.status_code == lower.status_code == 400
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert "en or en-US" in response.json()["error"]
    assert "'english'" in response.json()["error"]


async def test_the_default_bundle_follows_accept_language_then_default_language(
    make_site: MakeSite,
) -> None:
    site = await make_site(settings_of(defaultLanguage="sv-SE"))

    preferred = await site.get("/api/i8n", headers={"Accept-Language": "de;q=1, en-us;q=0.8"})
    nothing = await site.get("/api/i8n")

    assert preferred.headers["content-language"] == "en-US"
    assert preferred.json() == bundle("en-US")
    assert nothing.headers["content-language"] == "sv-SE"
    assert "Accept-Language" in nothing.headers["vary"]


@pytest.mark.parametrize(
    "engine",
    [
        "javascript:alert(document.cookie)//",
        " JavaScript:alert(1)",
        "data:text/html,x",
        "//x.example/?q=",
    ],
)
def test_a_search_engine_that_is_not_http_is_a_configuration_error(
    tmp_path: Path, engine: str
) -> None:
    config = tmp_path / "startpunkt.yaml"
    config.write_text(f"startpunkt:\n  web:\n    searchEngine: {json.dumps(engine)}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARTPUNKT")}
    result = subprocess.run(
        [sys.executable, "-m", "startpunkt", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "startpunkt.web.searchEngine" in result.stderr
    assert "http or https" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_https_search_engine_is_served_as_written() -> None:
    settings = settings_of(web={"searchEngine": "https://search.example/?q="})
    assert settings.web.search_engine == "https://search.example/?q="
