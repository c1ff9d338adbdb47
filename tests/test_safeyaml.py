"""The one YAML reader for files anyone may have written: bounded, and JSON's values only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from startpunkt import safeyaml
from startpunkt.safeyaml import Limits, YamlError, load, load_all, read_bytes


def problem(text: str, limits: Limits | None = None) -> YamlError:
    with pytest.raises(YamlError) as caught:
        load_all(text, limits or Limits())
    return caught.value


def test_deep_nesting_is_refused_with_its_line_long_before_the_recursion_limit() -> None:
    error = problem("a: 1\nb: " + "[" * 500 + "]" * 500)
    assert error.problem == "nested deeper than 100 levels"
    assert error.line == 2
    block = "\n".join("  " * i + "k:" for i in range(150))
    assert problem(block).problem == "nested deeper than 100 levels"
    assert load("a: " + "[" * 90 + "1" + "]" * 90) is not None


def test_an_alias_bomb_is_refused_after_measuring_not_expanding() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    error = problem("\n".join(lines))
    assert "expands to more than 250,000 values" in error.problem
    assert error.line is not None


def test_aliases_within_the_limits_still_work() -> None:
    assert load("base: &b {x: 1}\nuse: *b\nmerged: {<<: *b, y: 2}") == {
        "base": {"x": 1},
        "use": {"x": 1},
        "merged": {"x": 1, "y": 2},
    }


def test_a_chain_of_aliases_counts_towards_the_depth() -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200))
    assert "nested deeper than 100 levels" in problem(chain).problem


def test_an_alias_inside_its_own_collection_is_refused() -> None:
    assert "refers to the collection that contains it" in problem("a: &a [1, *a]").problem


def test_the_node_budget_covers_every_document_in_a_file() -> None:
    doc = "[" + ",".join(["1"] * 400) + "]"
    assert len(load_all(doc, Limits(max_nodes=1000))) == 1
    assert (
        "more than 1,000 values"
        in problem(f"{doc}\n---\n{doc}\n---\n{doc}", Limits(max_nodes=1000)).problem
    )


def test_values_are_jsons() -> None:
    data = load("when: 2024-01-01T00:00:00Z\n1: one\ntrue: yes\n~: nothing\n")
    assert data == {"when": "2024-01-01T00:00:00Z", "1": "one", "true": True, "~": "nothing"}
    for tag in ("!!set {a, b}", "!!binary aGk=", "!!omap [a: 1]", "!!python/object:os.system x"):
        assert problem(f"a: {tag}").line == 1
    assert "plain value" in problem("? [a]\n: 1\n").problem


def test_an_escape_that_is_half_a_surrogate_pair_is_refused() -> None:
    # it would make every JSON document that carries it fail to encode
    assert "surrogate" in problem('name: "\\ud800"').problem
    assert "surrogate" in problem('"\\udfff": key').problem
    assert load('name: "\\U0001F600"') == {"name": "\U0001f600"}


def test_unreadable_text_is_a_yaml_error() -> None:
    assert problem("a: \x00").problem == "the character #x0000 is not allowed"
    assert "cannot be read" in problem("a: " + "1" * 5000).problem  # beyond int()'s limit
    error = problem("a: [b\n")
    assert (error.line, error.where()) == (2, ":2:1")


def test_bytes_must_be_utf8_and_the_bad_byte_is_located() -> None:
    with pytest.raises(YamlError) as caught:
        safeyaml.decode(b"a: 1\nb: caf\xe9\n")
    assert (caught.value.line, caught.value.column) == (2, 7)
    assert safeyaml.decode(b"\xef\xbb\xbfa: 1") == "a: 1"  # a byte order mark is dropped


def test_only_regular_files_are_read_and_never_beyond_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(YamlError, match="not a regular file"):
        read_bytes(fifo, 100)  # refused without waiting for a writer
    with pytest.raises(YamlError, match="not a regular file"):
        read_bytes("/dev/zero", 100)
    with pytest.raises(YamlError, match="larger than the limit of 100 bytes"):
        read_bytes("/dev/zero", 100, regular_only=False)  # a stream is cut at the limit
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 101)
    with pytest.raises(YamlError, match=r"larger than the limit of 100 bytes \(101 bytes\)"):
        read_bytes(big, 100)
    assert read_bytes(big, 101) == b"x" * 101
