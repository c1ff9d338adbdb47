"""The encoded-document cache holds only the current snapshot's documents, within its limits."""

from __future__ import annotations

from startpunkt.store import Snapshot
from startpunkt.web.caching import SnapshotCache


def snapshot(revision: int) -> Snapshot:
    return Snapshot(revision, (), (), {})


def test_a_document_is_built_once_per_snapshot() -> None:
    cache = SnapshotCache()
    builds: list[int] = []

    def build(s: Snapshot) -> dict[str, int]:
        builds.append(s.revision)
        return {"revision": s.revision}

    first, second = snapshot(1), snapshot(1)  # equal revisions, but a rebuilt snapshot
    a = cache.get(first, "apps", build)
    b = cache.get(first, "apps", build)
    c = cache.get(second, "apps", build)

    assert a is b
    assert c is not a
    assert builds == [1, 1]


def test_documents_of_an_older_snapshot_are_dropped() -> None:
    cache = SnapshotCache()
    old = snapshot(1)
    for tags in ("a", "b", "c"):
        cache.get(old, tags, lambda s: {"x": "y" * 1000})

    cache.get(snapshot(2), "a", lambda s: {})

    assert len(cache) == 1
    assert cache.bytes == 2


def test_many_tag_sets_stay_within_the_byte_budget() -> None:
    cache = SnapshotCache(size=1000, budget=10_000)
    current = snapshot(1)

    for i in range(100):
        cache.get(current, f"tags-{i}", lambda s: {"x": "y" * 1000})

    assert cache.bytes <= 10_000
    assert len(cache) == 9  # each document is 1,008 bytes
    assert cache.get(current, "tags-99", lambda s: {"rebuilt": True}).body.startswith(b'{"x"')
