"""Manifest files written by a careless or hostile hand: each is reported and skipped, and the
rest of the directory keeps working, whether the file is there at start or dropped in later."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

from startpunkt import manifests as manifests_module
from startpunkt import safeyaml
from startpunkt.config import Settings
from startpunkt.manifests import ManifestsDirectory
from startpunkt.runtime import build_store
from tests.test_manifests import app_yaml, directory, names, touch_later
from tests.waiting import eventually

DEEP = "a: " + "[" * 500 + "]" * 500 + "\n"
LIST_OF_FIVE = '{"apiVersion":"v1","kind":"List","items":5}\n'


def alias_bomb(leaf: str = "lol") -> str:
    """Billion laughs: nine levels of nine aliases each, 9**9 strings once expanded."""
    lines = [f'a: &a ["{leaf}","{leaf}","{leaf}","{leaf}","{leaf}","{leaf}","{leaf}","{leaf}"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    return (
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        "metadata: {name: bomb}\nspec:\n  name: Bomb\n  url: https://bomb.example\n  extra:\n"
        + "".join(f"    {line}\n" for line in lines)
    )


def hostile_files(root: Path, outside: Path) -> dict[str, str]:
    """Writes every kind of bad file; returns file name -> what its error must say."""
    (root / "deep.yaml").write_text(DEEP)
    (root / "list.json").write_text(LIST_OF_FIVE)
    (root / "zero.yaml").symlink_to("/dev/zero")
    (root / "bomb.yaml").write_text(alias_bomb())
    os.mkfifo(root / "pipe.yaml")
    secret = outside / "secret.yaml"
    secret.write_text(app_yaml("Outside"))
    (root / "escape.yaml").symlink_to(secret)
    (root / "latin1.yaml").write_bytes(app_yaml("Caf\xe9").encode("latin-1"))
    (root / "surrogate.yaml").write_text(app_yaml("Half", info='"\\ud800"'))
    # a file name that is not UTF-8 must not break the JSON that reports it
    (root / os.fsdecode(b"caf\xff.yaml")).write_text("a: [unclosed\n")
    return {
        "deep.yaml": "nested deeper than 100 levels",
        "list.json": "List.items must be a list (found int)",
        "zero.yaml": "outside the manifests directory",
        "bomb.yaml": "expands to more than 250,000 values",
        "pipe.yaml": "not a regular file",
        "escape.yaml": "outside the manifests directory",
        "latin1.yaml": "not UTF-8 text",
        "surrogate.yaml": "half of a surrogate pair",
        "caf\\udcff.yaml": "expected ',' or ']'",
    }


def assert_reported(manifests: ManifestsDirectory, root: Path, expected: dict[str, str]) -> None:
    json.dumps(manifests.status_json(), ensure_ascii=False).encode()  # can be written out
    errors = {Path(path).name: error for path, error in manifests.errors().items()}
    assert errors.keys() == expected.keys()
    for name, words in expected.items():
        assert words in errors[name], errors[name]
        assert errors[name].startswith(str(root / name))


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "manifests", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


def test_bad_files_present_at_start_are_reported_and_the_rest_loads(
    dirs: tuple[Path, Path],
) -> None:
    root, outside = dirs
    (root / "good.yaml").write_text(app_yaml("Good"))
    expected = hostile_files(root, outside)
    manifests, store = directory(root)
    assert names(store) == ["Good"]
    assert_reported(manifests, root, expected)


def test_bad_files_dropped_in_later_are_reported_and_nothing_shown_changes(
    dirs: tuple[Path, Path],
) -> None:
    root, outside = dirs
    (root / "good.yaml").write_text(app_yaml("Good"))
    manifests, store = directory(root)
    expected = hostile_files(root, outside)
    manifests.rescan()
    assert names(store) == ["Good"]
    assert_reported(manifests, root, expected)
    touch_later(root / "later.yaml", app_yaml("Later"))
    manifests.rescan()
    assert names(store) == ["Good", "Later"]


def test_an_alias_bomb_replacing_a_good_file_keeps_its_last_objects(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(app_yaml("Bomb"))
    manifests, store = directory(tmp_path)
    touch_later(path, alias_bomb())
    manifests.rescan()
    touch_later(path, alias_bomb("laugh"))  # an edit: the old and new bombs would be compared
    manifests.rescan()
    assert names(store) == ["Bomb"]
    assert "expands to more than" in manifests.errors()[str(path)]


def test_a_file_larger_than_the_limit_is_skipped(tmp_path: Path) -> None:
    settings = Settings.model_validate({"manifests": {"maxFileBytes": 4096}})
    (tmp_path / "big.yaml").write_text(app_yaml("Big", info='"' + "x" * 5000 + '"'))
    (tmp_path / "small.yaml").write_text(app_yaml("Small"))
    manifests, store = directory(tmp_path, settings)
    assert names(store) == ["Small"]
    error = manifests.errors()[str(tmp_path / "big.yaml")]
    assert "larger than the limit of 4,096 bytes" in error


def test_the_node_limit_is_configurable(tmp_path: Path) -> None:
    settings = Settings.model_validate({"manifests": {"maxNodes": 1000}})
    many = ", ".join(["x"] * 1200)
    (tmp_path / "many.yaml").write_text(app_yaml("Many", tags=f"[{many}]"))
    manifests, store = directory(tmp_path, settings)
    assert names(store) == []
    assert "more than 1,000 values" in manifests.errors()[str(tmp_path / "many.yaml")]


def test_links_inside_the_directory_are_read_as_a_configmap_mount_makes_them(
    tmp_path: Path,
) -> None:
    # kubelet mounts a ConfigMap as name -> ..data/name, ..data -> ..2024_01_01_00_00_00.1
    stamped = tmp_path / "..2024_01_01_00_00_00.1"
    stamped.mkdir()
    (stamped / "apps.yaml").write_text(app_yaml("Mounted"))
    (tmp_path / "..data").symlink_to(stamped.name)
    (tmp_path / "apps.yaml").symlink_to("..data/apps.yaml")
    manifests, store = directory(tmp_path)
    assert names(store) == ["Mounted"]
    assert manifests.errors() == {}


def test_wrong_types_in_objects_skip_only_those_objects(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text(
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        "metadata: {name: odd, namespace: [a, b]}\nspec: {name: Odd, url: https://odd.example}\n"
        "---\n- a list, not an object\n"
    )
    (tmp_path / "kinds.yaml").write_text(
        "apiVersion: [v1]\nkind: {List: 1}\nmetadata: {name: weird}\nitems: 3\n---\n"
        + app_yaml("Fine")
    )
    selected = Settings.model_validate(
        {"namespaceSelector": {"any": False, "matchNames": ["default"]}}
    )
    manifests, store = directory(tmp_path, selected)
    assert names(store) == ["Fine"]
    assert "a document is a list, not an object" in manifests.errors()[str(tmp_path / "odd.yaml")]


async def test_files_are_read_and_parsed_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    parsed_in: list[int] = []
    real_load_all = safeyaml.load_all

    def recording(text: str, limits: safeyaml.Limits) -> list[object]:
        parsed_in.append(threading.get_ident())
        return real_load_all(text, limits)

    monkeypatch.setattr(manifests_module.safeyaml, "load_all", recording)
    (tmp_path / "a.yaml").write_text(app_yaml("First"))
    settings = Settings()
    store = build_store(settings)
    manifests = ManifestsDirectory(tmp_path, store, settings=settings, poll_interval=0.05)
    task = asyncio.create_task(manifests.run())
    try:
        await eventually(lambda: names(store) == ["First"])
        touch_later(tmp_path / "b.yaml", app_yaml("Second"))
        await eventually(lambda: names(store) == ["First", "Second"], what="the new file")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(parsed_in) >= 2  # both files (one may be caught half-written and read again)
    assert loop_thread not in parsed_in
