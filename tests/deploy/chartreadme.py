"""The table of values in the chart's README, made from values.yaml: each key with a `# --`
comment is a row (its default is the whole value below it); other keys are gone into.

    .venv/bin/python -m tests.deploy.chartreadme    # rewrites the table in README.md
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "startpunkt"
BEGIN = "<!-- values: written by tests/deploy/chartreadme.py from values.yaml -->"
END = "<!-- end of values -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):")


@dataclass(frozen=True)
class Row:
    key: str
    default: Any
    description: str


def documented(values_yaml: str) -> tuple[list[Row], list[str]]:
    """The rows, and the keys of leaves nobody described (each must be, or be in a row)."""
    values = yaml.safe_load(values_yaml)
    rows: list[Row] = []
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    covered: list[str] = []
    for line in values_yaml.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped.removeprefix("# --").strip()]
            continue
        if stripped.startswith("#") and comment:
            comment.append(stripped.removeprefix("#").strip())
            continue
        match = _KEY.match(line)
        if not match:
            comment = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if any(key in covered for key in _prefixes(stack)):
            comment = []  # inside a documented value, e.g. a list of hosts
            continue
        stack.append((indent, match["key"]))
        path = ".".join(k for _, k in stack)
        if comment:
            rows.append(Row(path, _lookup(values, path), " ".join(comment)))
            covered.append(path)
        comment = []
    undocumented = [p for p in _leaves(values, "") if not any(_within(p, c) for c in covered)]
    return rows, undocumented


def _prefixes(stack: list[tuple[int, str]]) -> list[str]:
    keys = [k for _, k in stack]
    return [".".join(keys[: i + 1]) for i in range(len(keys))]


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + ".")


def _lookup(values: Any, path: str) -> Any:
    for key in path.split("."):
        values = values[key]
    return values


def _leaves(values: Any, prefix: str) -> list[str]:
    if isinstance(values, dict) and values:
        return [
            leaf
            for key, child in values.items()
            for leaf in _leaves(child, f"{prefix}.{key}" if prefix else key)
        ]
    return [prefix]


def table(rows: list[Row]) -> str:
    lines = ["| Key | Default | Description |", "|---|---|---|"]
    for row in rows:
        default = json.dumps(row.default, separators=(",", ":")).replace("|", "\\|")
        lines.append(f"| `{row.key}` | `{default}` | {row.description} |")
    return "\n".join(lines)


def section(values_yaml: str) -> str:
    rows, _ = documented(values_yaml)
    return f"{BEGIN}\n{table(rows)}\n{END}"


def current_section(readme: str) -> str:
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < 0:
        return ""
    return readme[start : end + len(END)]


def main() -> None:
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    old = current_section(readme)
    if not old:
        raise SystemExit(f"{readme_path}: no {BEGIN} ... {END} section to rewrite")
    readme_path.write_text(readme.replace(old, section((CHART / "values.yaml").read_text())))


if __name__ == "__main__":
    main()
