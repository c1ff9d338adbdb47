"""Rendering deploy/ with `kubectl kustomize` and reading what came out."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from startpunkt import config
from startpunkt.kube.supervising import plans

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CRDS = DEPLOY / "crds"
EXAMPLES = DEPLOY / "examples"
OVERLAYS = sorted(
    p for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").is_file()
)
COMPONENTS = sorted(p for p in (DEPLOY / "components").iterdir() if p.is_dir())

GROUP = "startpunkt.ullberg.us"
VERSIONS = ("v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4")
NAMESPACE = "startpunkt"
READ_VERBS = frozenset({"get", "list", "watch"})
#: what a start page has no business reading, whatever the configuration
NEVER_READ = frozenset({"secrets", "nodes", "namespaces"})
#: the only writes: .status of Startpunkt's own objects (startpunkt.status.enabled)
STATUS_WRITES = frozenset(
    {(GROUP, "applications/status", "patch"), (GROUP, "bookmarks/status", "patch")}
)
#: spec.urlFrom targets granted by deploy/components/urlfrom-rbac
URLFROM_TARGETS = frozenset({("", "configmaps"), ("", "services")})

Obj = dict[str, Any]
Grant = tuple[str, str]  # (apiGroup, resource)


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not on PATH; it renders deploy/ (kubectl kustomize)", pytrace=False)
    return found


def render(directory: Path) -> list[Obj]:
    """`kubectl kustomize DIR`, parsed."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def with_documented_components(overlay: Path, workdir: Path) -> Path:
    """A copy of deploy/ in which `overlay` has its commented-out `components:` switched on,
    as a user following the comment would; returns the copied overlay."""
    copy = workdir / "deploy"
    shutil.copytree(DEPLOY, copy)
    target = copy / overlay.relative_to(DEPLOY) / "kustomization.yaml"
    lines = target.read_text().splitlines()
    out = []
    for line in lines:
        if line == "# components:":
            out.append("components:")
        elif line.startswith("#   - ../../components/"):
            out.append("  - " + line.removeprefix("#   - "))
        else:
            out.append(line)
    assert out != lines, f"{target}: found no commented-out components to switch on"
    target.write_text("\n".join(out) + "\n")
    return target.parent


def of_kind(objs: Iterable[Obj], *kinds: str) -> list[Obj]:
    return [o for o in objs if o["kind"] in kinds]


def one(objs: Iterable[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in of_kind(objs, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def rules(role: Obj) -> Iterator[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) a Role or ClusterRole grants."""
    for rule in role.get("rules") or []:
        assert not rule.get("nonResourceURLs"), f"{role['metadata']['name']}: nonResourceURLs"
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    yield group, resource, verb


def granted(role: Obj) -> set[Grant]:
    """(apiGroup, resource) pairs the role lets Startpunkt get, list and watch."""
    triples = set(rules(role))
    pairs = {(g, r) for g, r, _ in triples}
    return {p for p in pairs if all((*p, verb) in triples for verb in READ_VERBS)}


def settings_of(objs: Iterable[Obj]) -> config.Settings:
    """The configuration in the rendered ConfigMap, read by Startpunkt's own loader."""
    configmap = one(objs, "ConfigMap")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "startpunkt.yaml"
        path.write_text(configmap["data"]["startpunkt.yaml"])
        return config.load(path, environ={})


def needed(settings: config.Settings) -> dict[str | None, set[Grant]]:
    """What Startpunkt lists and watches with these settings, per namespace scope (None: all
    namespaces), taken from the runtime's own watch plan."""
    result: dict[str | None, set[Grant]] = defaultdict(set)
    for plan in plans(settings):
        for kind in plan.kinds:
            result[plan.namespace].add((kind.group, kind.plural))
    return dict(result)


def as_served_by_kubernetes_1_20(objs: Iterable[Obj]) -> list[Obj]:
    """The objects as a 1.20 apiserver (the tests' one) takes them: it serves the
    PodDisruptionBudget only as policy/v1beta1 (policy/v1 came in 1.21), with the same fields."""
    return [
        {**o, "apiVersion": "policy/v1beta1"}
        if (o["kind"], o["apiVersion"]) == ("PodDisruptionBudget", "policy/v1")
        else o
        for o in objs
    ]


def load_yaml(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
