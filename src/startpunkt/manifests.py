"""The manifests-directory backend: Kubernetes YAML files on disk, as if they were in a cluster.

Every `*.yaml`, `*.yml` and `*.json` file below the directory is read (multi-document files and
`kind: List` included). The directory is then polled, and a file that is added, edited or
removed turns into the same ADDED / MODIFIED / DELETED store updates a watch would produce.

A file that does not parse is reported with its line and skipped; while it stays broken, the
objects it last defined stay on the page, so a half-saved edit never blanks anything.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from startpunkt.config import Settings
from startpunkt.sources import DEPENDENCY_KINDS, SOURCES
from startpunkt.store import ObjectKey, Store, object_key

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".json")
ANY_KIND = "manifest"  # source name for objects that are only referred to (ConfigMaps, ...)


@dataclass(slots=True)
class _File:
    stamp: tuple[int, int]  # (mtime_ns, size)
    objects: dict[ObjectKey, Mapping[str, Any]] = field(default_factory=dict)
    error: str | None = None


def _source_index() -> dict[tuple[str, str], str]:
    """(API group, kind) -> source name; any served version maps to the same source."""
    index: dict[tuple[str, str], str] = {}
    named = [(s.name, s.kinds) for s in SOURCES] + list(DEPENDENCY_KINDS.items())
    for name, kinds in named:
        for kind in kinds:
            index.setdefault((kind.group, kind.kind), name)
    return index


def _documents(path: Path, text: str) -> Iterator[Mapping[str, Any]]:
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            raise ValueError(f"{path}: a document is a {type(doc).__name__}, not an object")
        if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List"):
            yield from (i for i in doc.get("items") or () if isinstance(i, Mapping))
        else:
            yield doc


def _describe(path: Path, error: Exception) -> str:
    mark = getattr(error, "problem_mark", None)
    if isinstance(error, yaml.YAMLError) and mark is not None:
        problem = getattr(error, "problem", None) or "invalid YAML"
        return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}"
    return f"{path}: {error}"


class ManifestsDirectory:
    def __init__(
        self, root: Path, store: Store, settings: Settings, poll_interval: float = 0.5
    ) -> None:
        self.root = root
        self._store = store
        self._poll = poll_interval
        self._files: dict[Path, _File] = {}
        self._index = _source_index()
        self._disabled = {s.name for s in SOURCES if not s.enabled(settings)}
        selector = settings.namespace_selector
        self._namespaces = None if selector.any else frozenset(selector.match_names)
        self.synced = False

    # -- public ----------------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        return {str(p): f.error for p, f in sorted(self._files.items()) if f.error}

    def status_json(self) -> Mapping[str, Any]:
        return {
            "watching": False,
            "manifests": str(self.root),
            "ready": self.synced,
            "files": len(self._files),
            "errors": self.errors(),
        }

    def load(self) -> None:
        """The first full read; the store receives one quiet replace per source."""
        for path in self._scan():
            self._files[path] = self._read(path, _File(self._stamp(path)))
        by_source: dict[str, list[Mapping[str, Any]]] = {}
        for entry in self._files.values():
            for key, obj in entry.objects.items():
                by_source.setdefault(key[0], []).append(obj)
        for source, objects in sorted(by_source.items()):
            self._store.replace(source, objects, quiet=True)
        self.synced = True
        count = sum(len(f.objects) for f in self._files.values())
        log.info("Loaded %d objects from %d files in %s", count, len(self._files), self.root)

    async def run(self) -> None:
        """Polls for changes forever."""
        if not self.synced:
            self.load()
        while True:
            await asyncio.sleep(self._poll)
            self.rescan()

    def rescan(self) -> None:
        seen = set()
        for path in self._scan():
            seen.add(path)
            stamp = self._stamp(path)
            known = self._files.get(path)
            if known is not None and known.stamp == stamp:
                continue
            self._update(path, self._read(path, _File(stamp, dict(known.objects) if known else {})))
        for path in [p for p in self._files if p not in seen]:
            log.info("%s was removed", path)
            self._update(path, None)

    # -- internals -------------------------------------------------------------------------

    def _scan(self) -> list[Path]:
        found: list[Path] = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [
                Path(folder) / f
                for f in sorted(files)
                if f.endswith(SUFFIXES) and not f.startswith(".")
            ]
        return found

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int]:
        try:
            stat = path.stat()
        except OSError:
            return (0, -1)
        return (stat.st_mtime_ns, stat.st_size)

    def _read(self, path: Path, entry: _File) -> _File:
        """Parses one file; on failure `entry` keeps the objects it had, with the error."""
        try:
            text = path.read_text(encoding="utf-8")
            objects: dict[ObjectKey, Mapping[str, Any]] = {}
            for doc in _documents(path, text):
                if (accepted := self._accept(path, doc)) is not None:
                    objects[object_key(accepted[0], accepted[1])] = accepted[1]
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
            entry.error = _describe(path, e)
            log.error("Skipping %s (fix the file and it is read again)", entry.error)
            return entry
        if entry.error is None and path in self._files and self._files[path].error:
            log.info("%s is valid again", path)
        entry.objects, entry.error = objects, None
        return entry

    def _accept(self, path: Path, doc: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        meta = doc.get("metadata")
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
            log.error(
                "%s: an object of kind %r has no metadata.name; skipped", path, doc.get("kind")
            )
            return None
        obj = dict(doc)
        namespace = meta.get("namespace") or "default"  # as kubectl apply would
        obj["metadata"] = {**meta, "namespace": namespace}
        if self._namespaces is not None and namespace not in self._namespaces:
            return None
        group = str(doc.get("apiVersion", "")).rpartition("/")[0]
        source = self._index.get((group, str(doc.get("kind", ""))), ANY_KIND)
        if source in self._disabled:
            return None
        return source, obj

    def _update(self, path: Path, entry: _File | None) -> None:
        before = self._files.pop(path, None)
        old = before.objects if before else {}
        new = entry.objects if entry else {}
        if entry is not None:
            self._files[path] = entry
        for key in old.keys() - new.keys():
            if not self._defined_elsewhere(key):
                self._store.apply(key[0], "DELETED", old[key])
        for key, obj in new.items():
            if old.get(key) != obj:
                self._store.apply(key[0], "MODIFIED" if key in old else "ADDED", obj)

    def _defined_elsewhere(self, key: ObjectKey) -> bool:
        return any(key in f.objects for f in self._files.values())
