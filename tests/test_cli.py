"""The command line: version, help, and refusing bad input before touching the network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from startpunkt import __version__


def startpunkt(*args: str, env: dict[str, str] | None = None, timeout: float = 30):
    return subprocess.run(
        [sys.executable, "-m", "startpunkt", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "STARTPUNKT"))}
    env["HOME"] = str(tmp_path)
    return env


def test_version_and_help() -> None:
    assert startpunkt("--version").stdout.strip() == f"startpunkt {__version__}"
    help_text = startpunkt("serve", "--help").stdout
    for flag in ("--config", "--manifests", "--kubeconfig", "--context", "--port"):
        assert flag in help_text


def test_a_bad_configuration_exits_2_listing_every_problem_before_any_network_io(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("startpunkt:\n  availability:\n    interval: 60x\n    timeout: -1\n  nope: 1\n")
    # a kubeconfig that is not one: had it been read first, the error would be about it
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("this is not even read")
    result = startpunkt(
        "serve", "--config", str(bad), "--kubeconfig", str(kubeconfig), env=clean_env(tmp_path)
    )
    assert result.returncode == 2
    assert "invalid configuration (3 problem(s))" in result.stderr
    assert "startpunkt.availability.interval" in result.stderr
    assert "startpunkt.availability.timeout" in result.stderr
    assert "startpunkt.nope: unknown key" in result.stderr


def test_a_bad_value_from_the_environment_is_reported_the_same_way(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_WATCH_ENABLED": "sometimes"}
    result = startpunkt("serve", "--manifests", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "startpunkt.watch.enabled" in result.stderr


def test_without_any_cluster_it_names_both_ways_and_suggests_manifests(tmp_path: Path) -> None:
    result = startpunkt("serve", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "kubeconfig" in result.stderr
    assert "in-cluster service account" in result.stderr
    assert "--manifests DIR" in result.stderr


def test_a_missing_manifests_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = startpunkt("serve", "--manifests", str(tmp_path / "nope"), env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_check_config_prints_the_effective_settings(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_WEB_TITLE": "Env title"}
    result = startpunkt("check-config", env=env)
    assert result.returncode == 0
    assert '"title": "Env title"' in result.stdout


def test_without_a_named_configuration_the_originals_mount_path_is_read(tmp_path: Path) -> None:
    mounted = tmp_path / "application.yaml"
    mounted.write_text("startpunkt:\n  web:\n    title: Mounted\n")
    named = tmp_path / "named.yaml"
    named.write_text("startpunkt:\n  web:\n    title: Named\n")
    env = clean_env(tmp_path) | {
        "STARTPUNKT_DEFAULT_CONFIG": f"{tmp_path / 'absent.yaml'}:{mounted}"
    }

    found = startpunkt("check-config", env=env)
    named_wins = startpunkt("check-config", "--config", str(named), env=env)
    env_wins = startpunkt("check-config", env=env | {"STARTPUNKT_CONFIG": str(named)})

    assert '"title": "Mounted"' in found.stdout
    assert '"title": "Named"' in named_wins.stdout
    assert '"title": "Named"' in env_wins.stdout


def test_check_config_names_the_keys_that_have_no_effect(tmp_path: Path) -> None:
    config = tmp_path / "application.yaml"
    config.write_text(
        "quarkus:\n  http:\n    port: 8080\n"
        "startpunkt:\n  graphql:\n    subscription:\n      enabled: true\n"
    )

    result = startpunkt("check-config", "--config", str(config), env=clean_env(tmp_path))

    assert result.returncode == 0
    assert result.stdout.startswith("{")  # the JSON stays parseable on standard output
    assert result.stderr.splitlines() == [
        "startpunkt: startpunkt.graphql: accepted and ignored (Startpunkt has no GraphQL API; "
        "pages follow changes over the event stream)",
        "startpunkt: quarkus.http.port: accepted and ignored (settings of Quarkus, the original's "
        "framework, which Startpunkt does not use)",
    ]


def test_an_unknown_setting_in_the_environment_exits_2(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_WEB_TITEL": "x"}

    result = startpunkt("serve", "--manifests", str(tmp_path), env=env)

    assert result.returncode == 2
    assert (
        "STARTPUNKT_WEB_TITEL: unknown setting in the environment; did you mean " in result.stderr
    )


def test_a_bad_log_level_in_the_environment_exits_2(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_LOG_LEVEL": "verbose"}

    result = startpunkt("serve", "--manifests", str(tmp_path), env=env)

    assert result.returncode == 2
    assert "STARTPUNKT_LOG_LEVEL='verbose': use one of debug, info, warning, error" in result.stderr
