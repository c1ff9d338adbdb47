"""A real `startpunkt serve` process given hostile files: it reports them, keeps serving, and
still ends on SIGTERM."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.serving import Served
from tests.test_manifests import app_yaml
from tests.test_manifests_hostile import DEEP, hostile_files
from tests.test_reloading import rewrite
from tests.test_serve_end_to_end import app_names, config_file
from tests.waiting import wait_until


def file_errors(base: str, root: Path) -> dict[str, str]:
    """The files /api/sources reports, by their path inside the manifests directory."""
    errors = httpx.get(base + "/api/sources", timeout=5).json()["errors"]
    assert all(not Path(path).is_absolute() for path in errors), "no server paths published"
    return dict(errors)


def test_hostile_manifests_at_start_and_while_serving(tmp_path: Path) -> None:
    root, outside, later = tmp_path / "manifests", tmp_path / "outside", tmp_path / "later"
    for folder in (root, outside, later):
        folder.mkdir()
    (root / "good.yaml").write_text(app_yaml("Good"))
    expected = hostile_files(root, outside)
    config = config_file(tmp_path, "startpunkt:\n  availability: {enabled: false}\n")
    with Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log") as served:
        assert app_names(served.url) == ["Good"]
        assert file_errors(served.url, root).keys() == expected.keys()

        # the same files again, dropped into a new folder while serving
        hostile_files(later, outside)
        later.rename(root / "later")
        everything = {*expected, *(f"later/{name}" for name in expected)}
        wait_until(lambda: file_errors(served.url, root).keys() == everything, what="reports")
        (root / "second.yaml").write_text(app_yaml("Second"))
        wait_until(lambda: app_names(served.url) == ["Good", "Second"], what="a good file")
        assert httpx.get(served.url + "/livez", timeout=5).status_code == 200
        assert served.stop() == 0
    assert "Traceback" not in served.log()
    assert "not a regular file" in served.log()


def test_an_unreadable_configuration_written_while_serving_keeps_the_old_one(
    tmp_path: Path,
) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "app.yaml").write_text(app_yaml("Kept"))
    config = config_file(
        tmp_path, "startpunkt:\n  web: {title: Before}\n  availability: {enabled: false}\n"
    )
    with Served(["--manifests", str(root), "--config", str(config)], tmp_path / "log") as served:
        bad_contents = [
            b"startpunkt:\n  web: {title: caf\xe9}\n",
            b"startpunkt:\n  web:\n    title: " + DEEP.encode() + b"\n",
            b"\x00\x01binary",
        ]
        for number, content in enumerate(bad_contents, start=1):
            before = config.stat().st_mtime_ns
            config.write_bytes(content)
            os.utime(config, ns=(before + 10**9,) * 2)
            wait_until(
                lambda n=number: served.log().count("Keeping the configuration in use") >= n,
                what=f"bad configuration {number} reported",
            )
            assert served.process is not None
            assert served.process.poll() is None
        title = httpx.get(served.url + "/api/config", timeout=5).json()["config"]["web"]["title"]
        assert title == "Before"
        assert app_names(served.url) == ["Kept"]
        rewrite(config, "startpunkt:\n  web: {title: After}\n  availability: {enabled: false}\n")
        wait_until(
            lambda: "<title>After" in httpx.get(served.url + "/", timeout=5).text,
            what="a good configuration again",
        )
        assert served.stop() == 0
    assert "Traceback" not in served.log()
