"""The RBAC in each overlay lets Startpunkt read exactly what its own configuration makes it
list and watch (taken from the runtime's watch plan), in the scope it reads it, and nothing
else: no wildcards, no Secrets, Nodes or Namespaces, and no write but `patch` on the status of
Startpunkt's own objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.rendering import (
    DEPLOY,
    NAMESPACE,
    NEVER_READ,
    OVERLAYS,
    READ_VERBS,
    STATUS_WRITES,
    URLFROM_TARGETS,
    Obj,
    granted,
    needed,
    of_kind,
    one,
    render,
    rules,
    settings_of,
    with_documented_components,
)


def rendered_variants() -> list[tuple[str, Path | tuple[Path, str]]]:
    return [(p.name, p) for p in OVERLAYS] + [
        (f"{p.name}+components", (p, "components")) for p in OVERLAYS
    ]


@pytest.fixture(params=rendered_variants(), ids=lambda v: v[0])
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> list[Obj]:
    _, what = request.param
    if isinstance(what, tuple):
        return render(with_documented_components(what[0], tmp_path))
    return render(what)


def bindings_to_startpunkt(objs: list[Obj], kind: str) -> list[Obj]:
    found = []
    for binding in of_kind(objs, kind):
        subjects = binding["subjects"]
        assert subjects == [
            {"kind": "ServiceAccount", "name": "startpunkt", "namespace": NAMESPACE}
        ], f"{kind} {binding['metadata']['name']} binds someone else"
        found.append(binding)
    return found


def test_only_read_verbs_on_named_resources(rendered: list[Obj]) -> None:
    roles = of_kind(rendered, "Role", "ClusterRole")
    assert roles
    for role in roles:
        triples = set(rules(role))
        assert triples
        writes = {t for t in triples if t[2] not in READ_VERBS}
        assert writes <= STATUS_WRITES
        assert all("*" not in (g, r, v) for g, r, v in triples)
        assert not {r for _, r, _ in triples} & NEVER_READ
        assert all(not rule.get("resourceNames") for rule in role["rules"])


def test_cluster_wide_grants_every_planned_read_across_namespaces() -> None:
    objs = render(DEPLOY / "overlays" / "cluster-wide")
    plan = needed(settings_of(objs))
    assert set(plan) == {None}, "namespaceSelector.any: true reads at the cluster scope"
    assert of_kind(objs, "Role", "RoleBinding") == []

    role = one(objs, "ClusterRole")
    (binding,) = bindings_to_startpunkt(objs, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert granted(role) == plan[None]


def test_namespaced_grants_each_listed_namespace_and_nothing_cluster_wide() -> None:
    objs = render(DEPLOY / "overlays" / "namespaced")
    settings = settings_of(objs)
    plan = needed(settings)
    assert set(plan) == set(settings.namespace_selector.match_names) == {"apps", "media"}
    assert of_kind(objs, "ClusterRole", "ClusterRoleBinding") == []

    roles = {r["metadata"]["namespace"]: r for r in of_kind(objs, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in bindings_to_startpunkt(objs, "RoleBinding")}
    assert set(roles) == set(bindings) == set(plan)
    for namespace, reads in plan.items():
        role = roles[namespace]
        assert bindings[namespace]["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        }
        assert granted(role) == reads, namespace


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_urlfrom_component_adds_configmaps_and_services_only(overlay: Path, tmp_path: Path) -> None:
    plain = {
        (r["kind"], r["metadata"].get("namespace")): granted(r)
        for r in of_kind(render(overlay), "Role", "ClusterRole")
    }
    extended = {
        (r["kind"], r["metadata"].get("namespace")): granted(r)
        for r in of_kind(
            render(with_documented_components(overlay, tmp_path)), "Role", "ClusterRole"
        )
    }
    assert plain.keys() == extended.keys()
    for key, reads in plain.items():
        assert extended[key] == reads | URLFROM_TARGETS
