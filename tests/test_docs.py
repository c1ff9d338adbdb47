"""The documentation says what the code does."""

from __future__ import annotations

from pathlib import Path

from startpunkt.config import ENV_KEYS
from startpunkt.sources import annotations

ROOT = Path(__file__).parents[1]


def test_the_annotation_reference_is_the_one_the_code_carries() -> None:
    doc = (ROOT / "docs" / "annotations.md").read_text()
    assert annotations.__doc__ is not None
    assert annotations.__doc__.strip() in doc


def test_the_readme_configuration_table_names_only_real_keys() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("## Annotations", 1)[0]
    keys = [
        line.split("`")[1]
        for line in table.splitlines()
        if line.startswith("| `") and "*" not in line.split("`")[1]
    ]
    real = {".".join(path[1:]) for path in ENV_KEYS.values()}
    for key in keys:
        assert key in real, f"README documents {key!r}, which is not a configuration key"
