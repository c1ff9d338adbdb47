"""The RBAC in each overlay lets Startpunkt read exactly what its own configuration makes it
list and watch (taken from the runtime's watch plan), in the scope it reads it, and nothing
else: no wildcards, no Secrets, Nodes or Namespaces, and no write but `patch` on the status of
Startpunkt's own objects. Apart from those source-reading roles there is one Role for leader
election, in Startpunkt's own namespace: its Lease and the availability ConfigMap, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.grants import (
    DEFAULT_LEASE,
    SOURCE_READER,
    component,
    leader_election_problems,
    role_components_problems,
    source_reader_problems,
)
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
    roles = [r for r in of_kind(rendered, "Role", "ClusterRole") if component(r) == SOURCE_READER]
    assert roles
    for role in roles:
        triples = set(rules(role))
        assert triples
        writes = {t for t in triples if t[2] not in READ_VERBS}
        assert writes <= STATUS_WRITES
        assert all("*" not in (g, r, v) for g, r, v in triples)
        assert not {r for _, r, _ in triples} & NEVER_READ
        assert all(not rule.get("resourceNames") for rule in role["rules"])


def test_every_role_is_a_source_reader_or_leader_election(rendered: list[Obj]) -> None:
    assert role_components_problems(rendered) == []


def test_source_readers_grant_exactly_the_watch_plan(
    request: pytest.FixtureRequest, rendered: list[Obj]
) -> None:
    """The same check as for the Helm chart's renderings (tests/deploy/grants.py)."""
    _, what = request.node.callspec.params["rendered"]
    extra = URLFROM_TARGETS if isinstance(what, tuple) else set()
    assert source_reader_problems(rendered, (NAMESPACE, "startpunkt"), extra) == []


def test_leader_election_role_grants_its_lease_and_availability_only(rendered: list[Obj]) -> None:
    """Separate from the source readers: the only Role with resourceNames and with writes
    other than status, confined to Startpunkt's own namespace."""
    assert leader_election_problems(rendered, (NAMESPACE, "startpunkt"), DEFAULT_LEASE) == []


def test_cluster_wide_grants_every_planned_read_across_namespaces() -> None:
    objs = render(DEPLOY / "overlays" / "cluster-wide")
    plan = needed(settings_of(objs))
    assert set(plan) == {None}, "namespaceSelector.any: true reads at the cluster scope"
    readers = [
        o for o in of_kind(objs, "Role", "RoleBinding") if o["metadata"]["name"] == "startpunkt"
    ]
    assert readers == [], "namespaced roles besides the leader-election Role"

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

    roles = {
        r["metadata"]["namespace"]: r
        for r in of_kind(objs, "Role")
        if component(r) == SOURCE_READER
    }
    bindings = {
        b["metadata"]["namespace"]: b
        for b in bindings_to_startpunkt(objs, "RoleBinding")
        if b["roleRef"]["name"] == "startpunkt"
    }
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
    def readers(objs: list[Obj]) -> dict[tuple[str, str | None], set[tuple[str, str]]]:
        return {
            (r["kind"], r["metadata"].get("namespace")): granted(r)
            for r in of_kind(objs, "Role", "ClusterRole")
            if component(r) == SOURCE_READER
        }

    plain = readers(render(overlay))
    extended = readers(render(with_documented_components(overlay, tmp_path)))
    assert plain
    assert plain.keys() == extended.keys()
    for key, reads in plain.items():
        assert extended[key] == reads | URLFROM_TARGETS
