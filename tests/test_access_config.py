"""The `access` section: presets, trusted proxies, and clear errors for what cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from startpunkt import config
from startpunkt.cli import main


def load(text: str, tmp_path: Path) -> config.Settings:
    path = tmp_path / "startpunkt.yaml"
    path.write_text(text)
    return config.load(path, {})


def test_without_the_section_access_is_off(tmp_path: Path) -> None:
    access = load("startpunkt: {}\n", tmp_path).access
    assert not access.enabled
    assert access.operator_endpoints == "public"


@pytest.mark.parametrize(
    ("preset", "headers"),
    [
        ("oauth2-proxy", ("X-Forwarded-User", "X-Forwarded-Groups", ",", "X-Forwarded-Email")),
        ("authelia", ("Remote-User", "Remote-Groups", ",", "Remote-Email")),
        ("authentik", ("X-authentik-username", "X-authentik-groups", "|", "X-authentik-email")),
    ],
)
def test_presets_name_their_proxys_headers(
    preset: str, headers: tuple[str, ...], tmp_path: Path
) -> None:
    settings = load(
        f"""
startpunkt:
  access:
    proxy: {{preset: {preset}, trustedProxies: ["10.0.0.0/8", "fd00::/8", 127.0.0.1]}}
    default: authenticated
    admins: [admins]
""",
        tmp_path,
    )
    proxy = settings.access.proxy
    assert proxy is not None
    assert proxy.headers() == headers
    assert proxy.trusted_proxies == ("10.0.0.0/8", "fd00::/8", "127.0.0.1/32")
    assert settings.access.default == "authenticated"
    assert settings.access.admins == ("admins",)


def test_custom_headers(tmp_path: Path) -> None:
    settings = load(
        """
startpunkt:
  access:
    proxy:
      preset: custom
      userHeader: X-Auth-Request-User
      groupsHeader: X-Auth-Request-Groups
      groupsSeparator: ";"
      trustedProxies: [192.168.1.2]
""",
        tmp_path,
    )
    assert settings.access.proxy is not None
    assert settings.access.proxy.headers() == (
        "X-Auth-Request-User",
        "X-Auth-Request-Groups",
        ";",
        None,
    )


def test_environment_overrides_reach_the_section() -> None:
    settings = config.load(
        None,
        {
            "STARTPUNKT_ACCESS_PROXY_PRESET": "authelia",
            "STARTPUNKT_ACCESS_PROXY_TRUSTEDPROXIES": "10.0.0.0/8,127.0.0.1",
            "STARTPUNKT_ACCESS_ADMINS": "admins,ops",
        },
    )
    assert settings.access.enabled
    assert settings.access.admins == ("admins", "ops")


@pytest.mark.parametrize(
    ("access", "message"),
    [
        (
            '{proxy: {trustedProxies: ["10.0.0.1/8"]}}',
            "access.proxy.trustedProxies: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?",
        ),
        (
            "{proxy: {trustedProxies: [proxy.local]}}",
            "'proxy.local' is not an address or CIDR range",
        ),
        ("{proxy: {trustedProxies: []}}", "list the addresses the proxy connects from"),
        ("{proxy: {}}", "list the addresses the proxy connects from"),
        (
            "{proxy: {preset: custom, trustedProxies: [10.0.0.0/8]}}",
            "userHeader: required with preset: custom",
        ),
        (
            "{proxy: {preset: authelia, userHeader: X-User, trustedProxies: [10.0.0.0/8]}}",
            "userHeader: set only with preset: custom",
        ),
        (
            "{proxy: {preset: custom, userHeader: 'X User', trustedProxies: [10.0.0.0/8]}}",
            "'X User' is not an HTTP header name",
        ),
        ("{default: authenticated}", "default: authenticated needs access.proxy"),
        ("{admins: [admins]}", "admins needs access.proxy"),
        ("{operatorEndpoints: admins}", "operatorEndpoints: admins needs access.proxy"),
        ("{default: some}", "access.default"),
        ("{operatorPort: 0}", "access.operatorPort"),
    ],
)
def test_bad_access_settings_are_named_with_their_fix(
    access: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "startpunkt.yaml"
    path.write_text(f"startpunkt:\n  access: {access}\n")
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_operator_port_without_a_proxy_is_fine(tmp_path: Path) -> None:
    access = load("startpunkt: {access: {operatorEndpoints: port, operatorPort: 9100}}", tmp_path)
    assert access.access.operator_endpoints == "port"
    assert access.access.operator_port == 9100
    assert not access.access.enabled


def test_an_access_edit_while_running_waits_for_a_restart(tmp_path: Path) -> None:
    from startpunkt import reloading  # noqa: PLC0415

    running = load("startpunkt: {}\n", tmp_path)
    wanted = load(
        "startpunkt:\n  web: {title: New}\n  access: {proxy: {trustedProxies: [127.0.0.1]}}\n",
        tmp_path,
    )
    applied, waiting = reloading.split(running, wanted)
    assert applied.web.title == "New"
    assert not applied.access.enabled
    assert any("access" in key for key in waiting)


def test_the_readme_access_table_names_only_real_keys() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme.split("## Who sees what", 1)[1].split("\n## ", 1)[0]
    real = {".".join(path[1:]) for path in config.ENV_KEYS.values()}
    documented = [
        line.split("`")[1] for line in table.splitlines() if line.startswith("| `access.")
    ]
    assert len(documented) == 7
    for key in documented:
        assert key in real, f"README documents {key!r}, which is not a configuration key"
