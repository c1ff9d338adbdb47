"""Reading YAML that anyone may have written: bounded bytes, depth and expanded size.

PyYAML's safe loader refuses arbitrary Python objects, but not a file of nested brackets that
exceeds Python's recursion limit, an alias bomb whose few hundred bytes expand to a billion
values, a path that is a FIFO (reading blocks for ever) or `/dev/zero` (reading never ends).
Every file Startpunkt reads (manifests, its configuration, kubeconfigs) comes through here, and
every problem is a `YamlError` whose message names the place and, for a limit, the limit.

The values are JSON's: mapping keys are strings and timestamps stay text, as `kubectl` reads a
manifest, so nothing downstream meets a `datetime`, a `set` or a key that is a number.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

MIB = 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = MIB
    # values (scalars and collections) after aliases are expanded, over all documents
    max_nodes: int = 250_000
    # collections inside collections, aliases expanded; Kubernetes objects stay below 30
    max_depth: int = 100


class YamlError(ValueError):
    """Text that is not acceptable YAML, or a file that cannot be read as one."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line  # 1-based, when known
        self.column = column

    def where(self) -> str:
        """`:3:7` for line 3, column 7; empty when the place is unknown."""
        if self.line is None:
            return ""
        return f":{self.line}:{self.column}" if self.column is not None else f":{self.line}"

    def __str__(self) -> str:
        if self.line is None:
            return self.problem
        column = f", column {self.column}" if self.column is not None else ""
        return f"line {self.line}{column}: {self.problem}"


def _at(problem: str, mark: yaml.Mark | None) -> YamlError:
    if mark is None:
        return YamlError(problem)
    return YamlError(problem, mark.line + 1, mark.column + 1)


# -- reading files -------------------------------------------------------------------------------


def read_bytes(path: Path | str, max_bytes: int, *, regular_only: bool = True) -> bytes:
    """The file's bytes, at most `max_bytes`. Raises OSError or YamlError.

    With `regular_only` a FIFO, socket or device is refused without blocking (it is opened
    non-blocking and checked before reading). Without it, a pipe such as `<(kubectl ...)` is
    read, still bounded, so `/dev/zero` ends with "too large" instead of filling memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if regular_only:
        flags |= getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if regular_only and not stat.S_ISREG(info.st_mode):
            raise YamlError("not a regular file (a FIFO, device or socket)")
        if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
            raise YamlError(_too_large(info.st_size, max_bytes))
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(MIB, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise YamlError(_too_large(None, max_bytes))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(size: int | None, limit: int) -> str:
    actual = f"{size:,} bytes" if size is not None else "more than that"
    return f"the file is larger than the limit of {limit:,} bytes ({actual})"


def decode(data: bytes) -> str:
    """UTF-8 text (a byte order mark is dropped), or a YamlError naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlError(f"not UTF-8 text (byte 0x{data[e.start]:02x})", line, column) from e


def load_file(path: Path | str, limits: Limits = Limits(), *, regular_only: bool = True) -> Any:
    """The one document in a file (None if empty). Raises OSError or YamlError."""
    return load(decode(read_bytes(path, limits.max_bytes, regular_only=regular_only)), limits)


# -- parsing -------------------------------------------------------------------------------------


class _Constructor(SafeConstructor):
    """JSON's values only: keys become text, timestamps stay text, sets and pairs are refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)  # `<<: *base` merge keys
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            # converted before inserting: in Python `true` and `1` would be one key
            mapping[key if isinstance(key, str) else _key_text(key)] = self.construct_object(
                value_node, deep=deep
            )
        return mapping

    def construct_unsupported(self, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag} is not supported here", node.start_mark
        )


def _key_text(key: object) -> str:
    if key is None:
        return "~"  # YAML's own spelling; Quarkus uses it for a key's value beside its children
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


_Constructor.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:timestamp": SafeConstructor.construct_yaml_str,
    **{
        f"tag:yaml.org,2002:{tag}": _Constructor.construct_unsupported
        for tag in ("binary", "set", "omap", "pairs")
    },
}


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Constructor,
    yaml.resolver.Resolver,
):
    def __init__(self, text: str, max_depth: int) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._max_depth = max_depth

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # checked on the way down, long before Python's recursion limit
        self._depth += 1
        try:
            if self._depth > self._max_depth:
                raise _at(_too_deep(self._max_depth), parent.start_mark if parent else None)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_deep(limit: int) -> str:
    return f"nested deeper than {limit} levels"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: yaml.Node, limits: Limits, budget: int) -> int:
    """Values below `root` with aliases expanded (at most `budget`); checks the expanded depth
    and refuses an alias inside the collection it names. Iterative: each node is visited once,
    however often aliases repeat it, so a bomb is measured in the time its text takes."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            parts = [measured[id(child)] for child in _children(node)]
            size = 1 + sum(p[0] for p in parts)
            depth = 1 + max((p[1] for p in parts), default=0)
            open_nodes.discard(key)
            if size > budget:
                raise _at(
                    f"expands to more than {limits.max_nodes:,} values (aliases included)",
                    node.start_mark,
                )
            if depth > limits.max_depth:
                raise _at(_too_deep(limits.max_depth) + " (aliases included)", node.start_mark)
            measured[key] = (size, depth)
        elif key not in measured:
            if isinstance(node, yaml.ScalarNode) and _SURROGATE.search(node.value):
                # a `\ud800` escape: not a character, and no JSON encoder would write it out
                raise _at("a \\u escape that is half of a surrogate pair", node.start_mark)
            if key in open_nodes:
                raise _at("an alias refers to the collection that contains it", node.start_mark)
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return measured[id(root)][0]


def load_all(text: str, limits: Limits = Limits()) -> list[Any]:
    """Every document in `text`, as plain dicts, lists, strings, numbers, booleans and None."""
    budget = limits.max_nodes
    documents: list[Any] = []
    loader: _Loader | None = None
    try:
        loader = _Loader(text, limits.max_depth)  # checks for unprintable characters
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            budget -= _measure(node, limits, budget)
            documents.append(loader.construct_document(node))
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise YamlError(f"the character #x{e.character:04x} is not allowed", line, column) from e
    except yaml.MarkedYAMLError as e:
        raise _at(e.problem or e.context or "invalid YAML", e.problem_mark) from e
    except yaml.YAMLError as e:
        raise YamlError(str(e)) from e
    except RecursionError as e:  # a safety net: the depth limit is far below Python's
        raise YamlError(_too_deep(limits.max_depth)) from e
    except (ValueError, TypeError, OverflowError) as e:
        if isinstance(e, YamlError):
            raise
        # e.g. an integer of more than 4,300 digits
        raise YamlError(f"a value cannot be read: {str(e).split(';')[0]}") from e
    finally:
        if loader is not None:
            loader.dispose()
    return documents


def load(text: str, limits: Limits = Limits()) -> Any:
    """The single document in `text` (None if there is none)."""
    documents = load_all(text, limits)
    if len(documents) > 1:
        raise YamlError("expected one YAML document, found several (separated by ---)")
    return documents[0] if documents else None
