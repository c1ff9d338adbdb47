"""Bad input on the command line, in the environment, the configuration or the kubeconfig: one
clear message and exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import clean_env

DEEP = "[" * 600 + "]" * 600


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "startpunkt", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=30,
        env=env,
        check=False,
    )


def assert_one_clear_message(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 6, result.stderr  # argparse adds usage


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"startpunkt:\n  web: {title: caf\xe9}\n", ("line 2, column 19", "not UTF-8")),
        (b"startpunkt:\n  web:\n    title: " + DEEP.encode(), ("nested deeper than",)),
        (b"\x00\x01\x02binary", ("is not allowed",)),
    ],
    ids=["latin-1", "nested", "binary"],
)
def test_an_unreadable_configuration_file(
    tmp_path: Path, content: bytes, words: tuple[str, ...]
) -> None:
    config = tmp_path / "startpunkt.yaml"
    config.write_bytes(content)
    for command in (["check-config"], ["serve", "--manifests", str(tmp_path)]):
        result = run([*command, "--config", str(config)], clean_env(tmp_path))
        assert_one_clear_message(result, str(config), *words)


def test_a_port_out_of_range(tmp_path: Path) -> None:
    result = run(["serve", "--manifests", str(tmp_path), "--port", "70000"], clean_env(tmp_path))
    assert_one_clear_message(result, "--port", "70000 is not a port number")


def test_an_unknown_log_level_in_the_environment(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_LOG_LEVEL": "verbose"}
    result = run(["serve", "--manifests", str(tmp_path)], env)
    assert_one_clear_message(result, "STARTPUNKT_LOG_LEVEL='verbose'", "use one of debug")


def test_log_levels_are_not_case_sensitive(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"STARTPUNKT_LOG_LEVEL": "WARNING"}
    result = run(["serve", "--manifests", str(tmp_path / "missing")], env)
    # got past the log level to the next check
    assert_one_clear_message(result, "not a directory")


def test_an_environment_value_that_is_not_utf8(tmp_path: Path) -> None:
    # Python keeps undecodable environment bytes as surrogates; this passes the byte 0xff
    env = clean_env(tmp_path) | {"STARTPUNKT_WEB_TITLE": os.fsdecode(b"caf\xff")}
    for command in (["check-config"], ["serve", "--manifests", str(tmp_path)]):
        result = run(command, env)
        assert_one_clear_message(result, "STARTPUNKT_WEB_TITLE", "not UTF-8")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (bytes(range(256)) * 4, ("not a usable kubeconfig",)),
        (b"clusters: " + DEEP.encode(), ("nested deeper than",)),
        (b"clusters: 5\n", ("clusters must be a list",)),
        (
            b"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
            b"clusters: [{name: k, cluster: {server: 'https://k', "
            b"certificate-authority-data: '!!not base64'}}]\n",
            ("certificate-authority-data", "is not base64"),
        ),
    ],
    ids=["binary", "nested", "wrong-type", "bad-base64"],
)
def test_an_unusable_kubeconfig(tmp_path: Path, content: bytes, words: tuple[str, ...]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(content)
    result = run(["serve", "--kubeconfig", str(kubeconfig)], clean_env(tmp_path))
    assert_one_clear_message(result, str(kubeconfig), *words)


def test_a_kubeconfig_naming_a_missing_certificate_authority(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://k', certificate-authority: nope.crt}}]\n"
    )
    result = run(["serve", "--kubeconfig", str(kubeconfig)], clean_env(tmp_path))
    assert_one_clear_message(result, "cannot use its TLS settings")
