"""Generated hostile files thrown at a running `startpunkt serve`: manifests (deep nesting,
aliases, wrong types at every level, huge strings, List kinds, bytes that are not text) into its
`--manifests` directory and configurations into its followed `--config` file. After each, the
process must still answer `/livez` within a second, and it must never exit."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serving import Served
from tests.test_manifests import app_yaml

POLL_SECONDS = 0.8  # longer than the manifests poll (0.5 s): each file is read before the next

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["", "*", "javascript:alert(1)", "https://x.example", "2024-01-01", "~", "\ud800"]
    ),
    st.builds(lambda n: "x" * n, st.integers(min_value=10_000, max_value=400_000)),  # huge
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)

APPLICATION = yaml.safe_load(app_yaml("Target", info='"i"', tags="[a, b]", location="1"))
APPLICATION["spec"]["urlFrom"] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "name": "urls",
    "property": "data.url",
}
INGRESS: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {
        "name": "web",
        "annotations": {"startpunkt.ullberg.us/enable": "true", "startpunkt.ullberg.us/tags": "a"},
    },
    "spec": {
        "tls": [{"hosts": ["web.example"]}],
        "rules": [{"host": "web.example", "http": {"paths": [{"path": "/"}]}}],
    },
}
BOOKMARK: dict[str, Any] = {
    "apiVersion": "startpunkt.ullberg.us/v1alpha4",
    "kind": "Bookmark",
    "metadata": {"name": "mark"},
    "spec": {"name": "Mark", "group": "G", "url": "https://mark.example"},
}
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "urls"},
    "data": {"url": "https://from.example"},
}
TEMPLATES = [APPLICATION, INGRESS, BOOKMARK, CONFIGMAP]
CONFIG: dict[str, Any] = {
    "startpunkt": {
        "availability": {"enabled": False},
        "web": {"title": "Fuzzed", "theme": {"dark": {"bodyColor": "#000000"}}},
        "ingress": {"onlyAnnotated": False, "ingressClassNames": ["a"]},
        "urlFrom": {"allowedNamespaces": ["*"]},
        "watch": {"pageSize": 10},
    }
}


def paths(tree: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON tree, the root included."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from paths(value, (*prefix, index))


def replaced(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[path[0]] = replaced(tree[path[0]], path[1:], value)
    return copy


@st.composite
def wrong_type_somewhere(draw: st.DrawFn, template: Any) -> Any:
    """The template with one value, anywhere below the root, replaced by anything."""
    places = list(paths(template))[1:]
    return replaced(template, draw(st.sampled_from(places)), draw(values))


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def alias_bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def dumped(tree: Any) -> str:
    return yaml.safe_dump(tree, sort_keys=False)


def documents(tree_strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.lists(tree_strategy, min_size=1, max_size=3).map(
        lambda docs: "---\n".join(dumped(d) for d in docs)
    )


def encoded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return texts.map(str.encode)


# one branch per kind of trouble, so each gets its share of the examples; Kubernetes-shaped
# objects with a wrong value somewhere get one branch per template
manifest_bytes = st.one_of(
    *(encoded(documents(wrong_type_somewhere(t))) for t in TEMPLATES),
    encoded(
        documents(
            st.lists(st.sampled_from(TEMPLATES).flatmap(wrong_type_somewhere), max_size=4).map(
                lambda items: {"apiVersion": "v1", "kind": "List", "items": items}
            )
        )
    ),
    encoded(documents(values.map(lambda i: {"apiVersion": "v1", "kind": "List", "items": i}))),
    encoded(documents(values)),
    encoded(st.integers(min_value=1, max_value=700).map(lambda d: "a: " + nested(d) + "\n")),
    encoded(
        st.integers(min_value=1, max_value=300).map(
            lambda d: "".join("  " * i + "k:\n" for i in range(d))
        )
    ),
    encoded(st.tuples(st.integers(2, 12), st.integers(2, 12)).map(lambda lw: alias_bomb(*lw))),
    st.sampled_from(
        [b"a: &a [1, *a]\n", b"spec: &s {name: X, url: 'https://x.example', more: *s}\n"]
    ),
    st.binary(max_size=300),
    encoded(documents(wrong_type_somewhere(APPLICATION))).map(lambda b: b + b"\xff\xfe"),
)

config_trees = st.one_of(
    wrong_type_somewhere(CONFIG),
    st.builds(lambda v: {"startpunkt": v}, values),
    values,
)
config_bytes = st.one_of(
    config_trees.map(lambda tree: dumped(tree).encode()),
    st.integers(min_value=1, max_value=700).map(
        lambda d: ("startpunkt:\n  web: " + nested(d, "{}") + "\n").encode()
    ),
    st.tuples(st.integers(2, 12), st.integers(2, 12)).map(
        lambda lw: (
            "startpunkt:\n  web:\n"
            + "".join("    " + line + "\n" for line in alias_bomb(*lw).splitlines())
        ).encode()
    ),
    st.binary(max_size=200),
)


def write(path: Path, content: bytes) -> None:
    """Writes and moves the mtime forward, so the poller notices even a same-size rewrite."""
    before = path.stat().st_mtime_ns if path.exists() else time.time_ns()
    path.write_bytes(content)
    os.utime(path, ns=(before + 10**9,) * 2)


class Target:
    def __init__(self, served: Served, manifests: Path, config: Path) -> None:
        self.served, self.manifests, self.config = served, manifests, config

    def assert_alive(self) -> None:
        """`/livez` answers within a second, again and again for one poll interval; then the
        API and the page answer too."""
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            assert self.served.process is not None
            assert self.served.process.poll() is None, self.served.log()[-5000:]
            response = httpx.get(self.served.url + "/livez", timeout=1.0)
            assert response.status_code == 200
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for path in ("/api/apps", "/api/sources", "/api/diagnostics", "/"):
            assert httpx.get(self.served.url + path, timeout=5).status_code == 200, path


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = tmp_path_factory.mktemp("fuzz")
    manifests = base / "manifests"
    manifests.mkdir()
    (manifests / "steady.yaml").write_text(app_yaml("Steady"))
    config = base / "startpunkt.yaml"
    config.write_text(dumped(CONFIG))
    with Served(["--manifests", str(manifests), "--config", str(config)], base / "log") as served:
        yield Target(served, manifests, config)
        assert served.process is not None
        assert served.process.poll() is None
        names = [
            a["name"]
            for g in httpx.get(served.url + "/api/apps", timeout=5).json()["groups"]
            for a in g["applications"]
        ]
        assert "Steady" in names  # the one good file stayed on the page throughout
        assert served.stop() == 0
    assert "Traceback" not in served.log()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    files=st.lists(
        st.tuples(st.sampled_from(["a.yaml", "b.yml", "c.json", "d/e.yaml"]), manifest_bytes),
        min_size=1,
        max_size=3,
    ),
    config=st.none() | config_bytes,
)
def test_generated_files_never_stop_the_server(
    target: Target, files: list[tuple[str, bytes]], config: bytes | None
) -> None:
    for name, content in files:
        path = target.manifests / name
        path.parent.mkdir(exist_ok=True)
        write(path, content)
    if config is not None:
        write(target.config, config)
    target.assert_alive()
