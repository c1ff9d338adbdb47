"""The manifests-directory backend: Kubernetes YAML files on disk, as if they were in a cluster.

Every `*.yaml`, `*.yml` and `*.json` file below the directory is read (multi-document files and
`kind: List` included). The directory is then polled, and a file that is added, edited or
removed turns into the same ADDED / MODIFIED / DELETED store updates a watch would produce.

A file that does not parse is reported with its line and skipped; while it stays broken, the
objects it last defined stay on the page, so a half-saved edit never blanks anything. So is a
file beyond the limits (`manifests.maxFileBytes`, `manifests.maxNodes`, 100 levels of nesting),
a FIFO, device or socket, and a symbolic link that leads out of the directory. Files are read
and parsed in a worker thread, so a large one never stalls the page.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from startpunkt import safeyaml
from startpunkt.config import Settings
from startpunkt.shapes.kube import KubeObject
from startpunkt.shapes.status import SourcesJSON
from startpunkt.sources import DEPENDENCY_KINDS, SOURCES
from startpunkt.store import ObjectKey, Store, object_key

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".json")
ANY_KIND = "manifest"  # source name for objects that are only referred to (ConfigMaps, ...)

Stamp = tuple[int, int]  # (mtime_ns, size)


@dataclass(slots=True)
class _File:
    stamp: Stamp
    objects: dict[ObjectKey, KubeObject] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Read:
    """One file as the worker thread found it: its documents, or why there are none."""

    stamp: Stamp
    documents: list[Mapping[str, Any]] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Scan:
    found: list[Path]  # every manifest file, in order
    reads: dict[Path, _Read]  # the new and changed ones


def _source_index() -> dict[tuple[str, str], str]:
    """(API group, kind) -> source name; any served version maps to the same source."""
    index: dict[tuple[str, str], str] = {}
    named = [(s.name, s.kinds) for s in SOURCES] + list(DEPENDENCY_KINDS.items())
    for name, kinds in named:
        for kind in kinds:
            index.setdefault((kind.group, kind.kind), name)
    return index


def _documents(documents: Iterable[object]) -> Iterator[Mapping[str, Any]]:
    for doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            raise ValueError(f"a document is a {_type(doc)}, not an object")
        kind = doc.get("kind")
        if isinstance(kind, str) and kind.endswith("List"):
            items = doc.get("items")
            if items is not None and not isinstance(items, list):
                raise ValueError(f"{kind}.items must be a list (found {_type(items)})")
            yield from (i for i in items or () if isinstance(i, Mapping))
        else:
            yield doc


def _type(value: object) -> str:
    names = {"dict": "mapping", "str": "string", "NoneType": "null"}
    return names.get(type(value).__name__, type(value).__name__)


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(folder) / f
            for f in sorted(files)
            if f.endswith(SUFFIXES) and not f.startswith(".")
        ]
    return found


def _shown(path: Path) -> str:
    """The path as text that can be written out: a file name that is not UTF-8 gets escapes."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _stamp(path: Path) -> Stamp:
    try:
        stat = path.stat()
    except OSError:
        return (0, -1)
    return (stat.st_mtime_ns, stat.st_size)


def _read(path: Path, real_root: str, limits: safeyaml.Limits) -> _Read:
    """Reads and parses one file. Blocking: runs in a worker thread. Never raises."""
    stamp = _stamp(path)
    try:
        real = os.path.realpath(path)
        if os.path.commonpath([real, real_root]) != real_root:
            raise safeyaml.YamlError(
                "a symbolic link to a file outside the manifests directory; not read"
            )
        text = safeyaml.decode(safeyaml.read_bytes(path, limits.max_bytes))
        return _Read(stamp, list(_documents(safeyaml.load_all(text, limits))))
    except safeyaml.YamlError as e:
        return _Read(stamp, None, f"{_shown(path)}{e.where()}: {e.problem}")
    except OSError as e:
        return _Read(stamp, None, f"{_shown(path)}: {e.strerror or e}")
    except ValueError as e:
        return _Read(stamp, None, f"{_shown(path)}: {e}")


def _scan(root: Path, known: Mapping[Path, Stamp], limits: safeyaml.Limits) -> _Scan:
    """Finds the manifest files and reads those that are new or changed. Blocking."""
    real_root = os.path.realpath(root)
    found = _files(root)
    reads = {
        path: _read(path, real_root, limits)
        for path in found
        if known.get(path) is None or known[path] != _stamp(path)
    }
    return _Scan(found, reads)


class ManifestsDirectory:
    def __init__(
        self, root: Path, store: Store, *, settings: Settings, poll_interval: float = 0.5
    ) -> None:
        self.root = root
        self._store = store
        self._poll = poll_interval
        self._files: dict[Path, _File] = {}
        self._index = _source_index()
        self._disabled = {s.name for s in SOURCES if not s.enabled(settings)}
        selector = settings.namespace_selector
        self._namespaces = None if selector.any else frozenset(selector.match_names)
        limits = settings.manifests
        self._limits = safeyaml.Limits(max_bytes=limits.max_file_bytes, max_nodes=limits.max_nodes)
        self.synced = False

    # -- public ----------------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        return {_shown(p): f.error for p, f in sorted(self._files.items()) if f.error}

    def status_json(self) -> SourcesJSON:
        return {
            "watching": False,
            "manifests": _shown(self.root),
            "ready": self.synced,
            "files": len(self._files),
            "errors": self.errors(),
        }

    def load(self) -> None:
        """The first full read; the store receives one quiet replace per source."""
        self._load(_scan(self.root, {}, self._limits))

    async def run(self) -> None:
        """Polls for changes forever; reading and parsing happen in a worker thread."""
        if not self.synced:
            self._load(await asyncio.to_thread(_scan, self.root, {}, self._limits))
        while True:
            await asyncio.sleep(self._poll)
            known = {path: entry.stamp for path, entry in self._files.items()}
            self._apply(await asyncio.to_thread(_scan, self.root, known, self._limits))

    def rescan(self) -> None:
        """One poll, in the calling thread."""
        known = {path: entry.stamp for path, entry in self._files.items()}
        self._apply(_scan(self.root, known, self._limits))

    # -- internals -------------------------------------------------------------------------

    def _load(self, scan: _Scan) -> None:
        for path in scan.found:
            if (read := scan.reads.get(path)) is not None:
                self._files[path] = self._entry(path, read, _File(read.stamp))
        by_source: dict[str, list[KubeObject]] = {}
        for entry in self._files.values():
            for key, obj in entry.objects.items():
                by_source.setdefault(key[0], []).append(obj)
        for source, objects in sorted(by_source.items()):
            self._store.replace(source, objects, quiet=True)
        self.synced = True
        count = sum(len(f.objects) for f in self._files.values())
        log.info("Loaded %d objects from %d files in %s", count, len(self._files), self.root)

    def _apply(self, scan: _Scan) -> None:
        for path in scan.found:
            if (read := scan.reads.get(path)) is None:
                continue
            known = self._files.get(path)
            entry = _File(read.stamp, dict(known.objects) if known else {})
            self._update(path, self._entry(path, read, entry))
        seen = set(scan.found)
        for path in [p for p in self._files if p not in seen]:
            log.info("%s was removed", path)
            self._update(path, None)

    def _entry(self, path: Path, read: _Read, entry: _File) -> _File:
        """`entry` with the file's objects; on failure it keeps the objects it had."""
        if read.documents is None:
            entry.error = read.error
            log.error("Skipping %s (fix the file and it is read again)", entry.error)
            return entry
        objects: dict[ObjectKey, KubeObject] = {}
        for doc in read.documents:
            if (accepted := self._accept(path, doc)) is not None:
                objects[object_key(accepted[0], accepted[1])] = accepted[1]
        if path in self._files and self._files[path].error:
            log.info("%s is valid again", path)
        entry.objects, entry.error = objects, None
        return entry

    def _accept(self, path: Path, doc: KubeObject) -> tuple[str, KubeObject] | None:
        meta = doc.get("metadata")
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
            log.error(
                "%s: an object of kind %.100r has no metadata.name; skipped", path, doc.get("kind")
            )
            return None
        namespace = meta.get("namespace") or "default"  # as kubectl apply would
        if not isinstance(namespace, str):
            log.error(
                "%s: %s has a metadata.namespace that is not text; skipped", path, meta["name"]
            )
            return None
        obj = dict(doc)
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
