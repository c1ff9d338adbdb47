"""Configuration: the original's YAML format, environment overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from startpunkt import config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "startpunkt.yaml"
    path.write_text(text)
    return path


def test_defaults_match_the_originals_shipped_configuration() -> None:
    settings = config.load(None, {})
    assert settings.default_protocol == "http"
    assert settings.default_language == "en-US"
    assert settings.namespace_selector.any is True
    assert settings.namespace_selector.match_names == ()
    assert settings.ingress.enabled
    assert settings.ingress.only_annotated
    assert settings.ingress.include_unclassified is True
    assert settings.openshift.enabled
    assert settings.hajimari.enabled
    assert settings.istio.virtualservice.only_annotated
    assert settings.gatewayapi.httproute.enabled
    assert settings.watch.enabled is True
    assert settings.availability.enabled is True
    assert settings.availability.interval == 60.0
    assert settings.availability.timeout == 5.0
    assert settings.web.title == "Startpunkt"
    assert settings.web.theme.light.body_bg_color == "#F8F6F1"
    assert settings.web.theme.dark.body_bg_color == "#232530"  # not the light values again


def test_an_existing_file_from_the_original_loads_unchanged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
startpunkt:
  defaultProtocol: https
  namespaceSelector:
    any: false
    matchNames: [media, apps]
  ingress:
    enabled: true
    onlyAnnotated: false
    ingressClassNames: [nginx]
    includeUnclassified: false
  openshift: {enabled: false, onlyAnnotated: true}
  hajimari: {enabled: false}
  istio: {virtualservice: {enabled: true, onlyAnnotated: true}}
  gatewayapi: {httproute: {enabled: true, onlyAnnotated: false}}
  availability: {enabled: true, interval: 5m, timeout: 3, ignoreCertificates: true}
  watch: {enabled: false, resyncPeriodSeconds: 300}
  websocket: {enabled: true, heartbeatInterval: 30s, eventDebounceMs: 500}
  web:
    title: Home
    refreshInterval: 300
    githubLink: {enabled: false}
    checkForUpdates: false
    theme:
      dark: {bodyBgColor: "#000", bodyColor: "#111", emphasisColor: "#222",
             textPrimaryColor: "#333", textAccentColor: "#444"}
""",
    )
    settings = config.load(path, {})
    assert settings.default_protocol == "https"
    assert settings.namespace_selector.match_names == ("media", "apps")
    assert settings.ingress.ingress_class_names == ("nginx",)
    assert settings.ingress.only_annotated is False
    assert settings.availability.interval == 300.0
    assert settings.availability.ignore_certificates is True
    assert settings.watch.enabled is False
    assert settings.web.theme.dark.text_accent_color == "#444"
    assert settings.web.theme.light.body_bg_color == "#F8F6F1"


def test_environment_overrides_any_key_in_quarkus_style(tmp_path: Path) -> None:
    path = write(tmp_path, "startpunkt:\n  watch:\n    enabled: true\n")
    settings = config.load(
        path,
        {
            "STARTPUNKT_WATCH_ENABLED": "false",
            "STARTPUNKT_NAMESPACESELECTOR_ANY": "false",
            "STARTPUNKT_NAMESPACESELECTOR_MATCHNAMES": "a, b",
            "STARTPUNKT_AVAILABILITY_INTERVAL": "90s",
            "STARTPUNKT_WEB_THEME_DARK_BODYBGCOLOR": "#123456",
            # Kubernetes injects these for a Service named startpunkt; they are not settings
            "STARTPUNKT_PORT": "tcp://10.0.0.1:80",
            "STARTPUNKT_SERVICE_HOST": "10.0.0.1",
        },
    )
    assert settings.watch.enabled is False
    assert settings.namespace_selector.any is False
    assert settings.namespace_selector.match_names == ("a", "b")
    assert settings.availability.interval == 90.0
    assert settings.web.theme.dark.body_bg_color == "#123456"


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "startpunkt:\n  web:\n    title: From env\n")
    assert config.load(None, {"STARTPUNKT_CONFIG": str(path)}).web.title == "From env"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("60s", 60.0), ("5m", 300.0), ("1h", 3600.0), ("500ms", 0.5), (7, 7.0), ("2.5s", 2.5)],
)
def test_durations_accept_the_originals_forms(value: object, seconds: float) -> None:
    assert config.parse_duration(value) == seconds


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
startpunkt:
  availability:
    interval: 60x
    timeout: -1
  watch:
    enabled: maybe
  namespaceSelecter: {any: true}
  defaultProtocol: gopher
  web:
    refreshInterval: soon
""",
    )
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, {"STARTPUNKT_AVAILABILITY_CONCURRENCY": "0"})
    problems = caught.value.problems
    text = str(caught.value)
    assert len(problems) == 7, text
    assert "startpunkt.availability.interval: '60x' is not a duration" in text
    assert "startpunkt.availability.timeout" in text
    assert "negative" in text
    assert "startpunkt.watch.enabled" in text
    assert "startpunkt.namespaceSelecter: unknown key" in text
    assert "startpunkt.defaultProtocol" in text
    assert "startpunkt.web.refreshInterval" in text
    assert "startpunkt.availability.concurrency" in text


def test_unreadable_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load(tmp_path / "missing.yaml", {})
    missing = tmp_path / "missing.yaml"
    assert caught.value.problems == [
        f"{missing}: cannot read the configuration file (No such file or directory)"
    ]


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "startpunkt:\n  web:\n    title: [unclosed\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, {})
    assert "not valid YAML at line" in str(caught.value)


def test_a_wrong_root_key_says_what_the_root_must_be(tmp_path: Path) -> None:
    path = write(tmp_path, "startpnkt:\n  web: {}\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, {})
    assert "startpnkt: unknown root key; the file's root key is `startpunkt:`" in str(caught.value)


def test_accepted_status_codes_must_be_http_codes(tmp_path: Path) -> None:
    path = write(tmp_path, "startpunkt:\n  availability:\n    acceptedStatusCodes: [200, 999]\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, {})
    assert "startpunkt.availability.acceptedStatusCodes" in str(caught.value)
