"""The manifests directory behaves like a cluster: files in, watch-style changes out."""

from __future__ import annotations

import asyncio
import logging
import os
import textwrap
from pathlib import Path

import pytest

from startpunkt.config import Settings
from startpunkt.manifests import ManifestsDirectory
from startpunkt.runtime import build_store
from startpunkt.store import Change, Notice, Store
from tests.waiting import eventually

EXAMPLES = Path(__file__).parents[1] / "examples"


def app_yaml(name: str, group: str = "Tools", namespace: str = "default", **extra: str) -> str:
    spec = "".join(f"\n  {k}: {v}" for k, v in extra.items())
    return (
        textwrap.dedent(
            f"""\
        apiVersion: startpunkt.ullberg.us/v1alpha4
        kind: Application
        metadata:
          name: {name.lower()}
          namespace: {namespace}
        spec:
          name: {name}
          group: {group}
          url: https://{name.lower()}.example"""
        )
        + spec
        + "\n"
    )


def names(store: Store) -> list[str]:
    return [a.name for a in store.snapshot().applications]


class Changes:
    def __init__(self, store: Store) -> None:
        self.seen: list[Change] = []
        store.subscribe(self._on)

    def _on(self, notice: Notice) -> None:
        if isinstance(notice, list):
            self.seen.extend(notice)

    def take(self) -> list[tuple[str, str]]:
        out = [(c.action, c.item.name) for c in self.seen]
        self.seen.clear()
        return out


def touch_later(path: Path, text: str) -> None:
    """Writes and moves the mtime forward, so a same-second edit is still noticed."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def directory(root: Path, settings: Settings | None = None) -> tuple[ManifestsDirectory, Store]:
    settings = settings or Settings()
    store = build_store(settings)
    manifests = ManifestsDirectory(root, store, settings=settings)
    manifests.load()
    return manifests, store


def test_the_bundled_examples_make_a_realistic_page() -> None:
    manifests, store = directory(EXAMPLES)
    snapshot = store.snapshot()
    assert len(snapshot.applications) >= 15
    assert len({a.group.casefold() for a in snapshot.applications}) >= 4
    assert len(snapshot.bookmarks) >= 3
    assert any(a.tags for a in snapshot.applications)
    assert manifests.errors() == {}
    groups = [a.group for a in snapshot.applications]
    assert groups == sorted(groups, key=str.casefold)  # sorted by group first


def test_nested_folders_multi_document_files_and_lists_are_read(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "two.yaml").write_text(app_yaml("One") + "---\n" + app_yaml("Two"))
    listing = "apiVersion: v1\nkind: List\nitems:\n" + textwrap.indent(
        "- " + app_yaml("Three").replace("\n", "\n  ").rstrip(), ""
    )
    (tmp_path / "list.yml").write_text(listing + "\n")
    (tmp_path / "notes.txt").write_text("not a manifest")
    _, store = directory(tmp_path)
    assert names(store) == ["One", "Three", "Two"]


def test_files_added_edited_and_removed_become_watch_style_changes(tmp_path: Path) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(app_yaml("Alpha"))
    manifests, store = directory(tmp_path)
    changes = Changes(store)

    touch_later(tmp_path / "second.yaml", app_yaml("Beta"))
    manifests.rescan()
    assert changes.take() == [("added", "Beta")]

    touch_later(first, app_yaml("Alpha", info='"Edited"'))
    manifests.rescan()
    assert changes.take() == [("updated", "Alpha")]
    assert store.snapshot().applications[0].info == "Edited"

    (tmp_path / "second.yaml").unlink()
    manifests.rescan()
    assert changes.take() == [("removed", "Beta")]
    assert names(store) == ["Alpha"]


def test_saving_a_file_unchanged_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "same.yaml"
    path.write_text(app_yaml("Same"))
    manifests, store = directory(tmp_path)
    changes = Changes(store)
    touch_later(path, app_yaml("Same"))
    manifests.rescan()
    assert changes.take() == []


def test_a_broken_file_is_reported_with_its_line_and_the_rest_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.yaml").write_text(app_yaml("Good"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(app_yaml("Broken") + "  tags: [unclosed\n")
    manifests, store = directory(tmp_path)

    assert names(store) == ["Good"]
    error = manifests.errors()[str(broken)]
    assert error.startswith(f"{broken}:")
    assert ":10:" in error or ":11:" in error  # the line the YAML parser stopped at
    assert str(broken) in caplog.text

    changes = Changes(store)
    touch_later(broken, app_yaml("Broken"))
    manifests.rescan()
    assert changes.take() == [("added", "Broken")]
    assert manifests.errors() == {}


def test_a_half_saved_edit_keeps_the_last_good_objects(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(app_yaml("Steady"))
    manifests, store = directory(tmp_path)
    changes = Changes(store)
    touch_later(path, "apiVersion: [\n")
    manifests.rescan()
    assert names(store) == ["Steady"]
    assert changes.take() == []
    assert str(path) in manifests.errors()


def test_objects_without_a_name_are_skipped_with_a_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    (tmp_path / "x.yaml").write_text(
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\nspec: {name: X}\n---\n"
        + app_yaml("Named")
    )
    _, store = directory(tmp_path)
    assert names(store) == ["Named"]
    assert "has no metadata.name" in caplog.text


def test_namespace_selection_applies_to_files_too(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        app_yaml("Inside", namespace="media") + "---\n" + app_yaml("Outside", namespace="other")
    )
    settings = Settings.model_validate(
        {"namespaceSelector": {"any": False, "matchNames": ["media"]}}
    )
    _, store = directory(tmp_path, settings)
    assert names(store) == ["Inside"]


async def test_the_poller_notices_edits_while_running(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(app_yaml("Before"))
    settings = Settings()
    store = build_store(settings)
    manifests = ManifestsDirectory(tmp_path, store, settings=settings, poll_interval=0.05)
    task = asyncio.create_task(manifests.run())
    try:
        await eventually(lambda: names(store) == ["Before"])
        touch_later(tmp_path / "b.yaml", app_yaml("After"))
        await eventually(lambda: names(store) == ["After", "Before"], what="the new file")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_url_from_follows_its_target_file(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        app_yaml("Wiki")
        + "  urlFrom: {apiVersion: v1, kind: ConfigMap, name: urls, property: data.wiki}\n"
    )
    target = tmp_path / "urls.yaml"
    target.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: urls}\n"
        "data: {wiki: 'https://wiki.lab.example'}\n"
    )
    manifests, store = directory(tmp_path)
    assert store.snapshot().applications[0].url == "https://wiki.lab.example"
    changes = Changes(store)
    touch_later(target, target.read_text().replace("wiki.lab", "docs.lab"))
    manifests.rescan()
    assert changes.take() == [("updated", "Wiki")]
    assert store.snapshot().applications[0].url == "https://docs.lab.example"
    target.unlink()
    manifests.rescan()
    assert store.snapshot().applications[0].url == "https://wiki.example"  # spec.url again
