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
