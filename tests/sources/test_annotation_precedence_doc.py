"""The precedence table in `sources.annotations`' docstring is what users read (it is copied into
the README); it must list exactly the keys the code reads, in the order the code tries them."""

from __future__ import annotations

import re

from startpunkt.sources import annotations

PREFIXES = (
    "startpunkt.ullberg.us/",
    "hajimari.io/",
    "forecastle.stakater.com/",
    "gethomepage.dev/",
)


def _documented() -> dict[str, tuple[str, ...]]:
    doc = annotations.__doc__ or ""
    table: dict[str, tuple[str, ...]] = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 1 + len(PREFIXES) or cells[0] in ("Field", "---"):
            continue
        keys: list[str] = []
        for prefix, cell in zip(PREFIXES, cells[1:], strict=True):
            keys += [prefix + name for name in re.findall(r"`([^`]+)`", cell)]
        table[cells[0]] = tuple(keys)
    return table


def test_documented_table_matches_the_keys_read() -> None:
    assert _documented() == annotations.KEYS


def test_documented_dialect_order_is_the_precedence() -> None:
    for field, keys in annotations.KEYS.items():
        ranks = [next(i for i, p in enumerate(PREFIXES) if k.startswith(p)) for k in keys]
        assert ranks == sorted(ranks), field
