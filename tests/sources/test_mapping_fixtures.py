"""Table-driven mapping tests: each case in tests/sources/data/*.yaml holds a Kubernetes object
(as the API returns it), optional settings and objects the lookup can return, and the exact
Outcome expected for it.

Case keys: `id`, `source` (a Source name), `object`, optional `settings` (camelCase, as in the
YAML config file), `lookup` (objects, matched on API group, kind, namespace and name),
`lookup_raises`, `substitutions` (Homepage's {{HOMEPAGE_*}} values), and `expect`:
- `verdict`; `reason` (a substring; a shown object must have none);
- `notes`: substrings, one per note, in order (absent means no notes at all);
- `depends_on`: the exact references, as `str(Reference)` (absent means none);
- `item`: fields of the shown item (or, for a hidden object, of the derived one); `item: null`
  means nothing was derived. `probe` compares whole ProbeSettings; `accepted` is written as
  `"200-299,401"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from startpunkt.config import Settings
from startpunkt.model import Application, Item, ProbeSettings, Reference, Verdict
from startpunkt.sources import MappingContext, map_object, source_named

DATA = Path(__file__).parent / "data"


def _cases() -> list[Any]:
    params = []
    for path in sorted(DATA.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return params


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _lookup(case: Mapping[str, Any]) -> Any:
    objects = {
        (
            _group(o["apiVersion"]),
            o["kind"],
            o["metadata"].get("namespace"),
            o["metadata"]["name"],
        ): o
        for o in case.get("lookup") or ()
    }

    def lookup(ref: Reference) -> Mapping[str, Any] | None:
        if case.get("lookup_raises"):
            raise ConnectionError("the API server went away")
        return objects.get((_group(ref.api_version), ref.kind, ref.namespace, ref.name))

    return lookup


def _codes(spec: str) -> frozenset[int]:
    codes: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        codes.update(range(int(low), int(high or low) + 1))
    return frozenset(codes)


def _probe(spec: Mapping[str, Any]) -> ProbeSettings:
    accepted = spec.get("accepted")
    return ProbeSettings(
        enabled=spec.get("enabled", True),
        url=spec.get("url"),
        accepted=_codes(accepted) if accepted else None,
        timeout=spec.get("timeout"),
    )


def _check_item(item: Item, expected: Mapping[str, Any]) -> None:
    for name, value in expected.items():
        actual = getattr(item, name)
        if name == "probe":
            assert isinstance(item, Application)
            assert actual == _probe(value), name
        elif isinstance(actual, tuple):
            assert list(actual) == value, name
        else:
            assert actual == value, name


@pytest.mark.parametrize("case", _cases())
def test_object_maps_to_expected_outcome(case: dict[str, Any]) -> None:
    source = source_named(case["source"])
    settings = Settings.model_validate(case.get("settings") or {})
    ctx = MappingContext(settings, _lookup(case), case.get("substitutions") or {})
    expect = case["expect"]

    outcome = map_object(source, case["object"], ctx)

    assert outcome.verdict == Verdict(expect["verdict"]), outcome.reason
    if "reason" in expect:
        assert outcome.reason is not None
        assert expect["reason"] in outcome.reason
    else:
        assert outcome.reason is None
    notes = expect.get("notes", [])
    assert len(outcome.notes) == len(notes), outcome.notes
    for wanted, note in zip(notes, outcome.notes, strict=True):
        assert wanted in note
    assert [str(r) for r in outcome.depends_on] == expect.get("depends_on", [])

    if outcome.verdict is Verdict.SHOWN:
        assert len(outcome.items) == 1
        assert outcome.derived == outcome.items
    else:
        assert outcome.items == ()
    if "item" in expect:
        if expect["item"] is None:
            assert outcome.derived == ()
        else:
            assert len(outcome.derived) == 1
            _check_item(outcome.derived[0], expect["item"])
            assert outcome.derived[0].key == (
                f"{source.name}/{outcome.ref.namespace}/{outcome.ref.name}"
            )
            assert outcome.derived[0].source == source.name
