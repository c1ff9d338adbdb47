"""The RBAC the Helm chart renders grants exactly what the rendered configuration makes
Startpunkt read (the same check as for the kustomize overlays), and the chart agrees with the
overlays on the CRDs, the RBAC rules and the container."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.charting import RBAC_SETS, RELEASE, VALUE_SETS, Helm
from tests.deploy.grants import (
    DEFAULT_LEASE,
    LEADER_ELECTION,
    SOURCE_READER,
    component,
    leader_election_problems,
    named_rules,
    role_components_problems,
    source_reader_problems,
)
from tests.deploy.rendering import (
    CRDS,
    DEPLOY,
    NAMESPACE,
    Obj,
    load_yaml,
    of_kind,
    one,
    render,
    settings_of,
)

SERVICE_ACCOUNT = (NAMESPACE, RELEASE)  # the release "startpunkt" names everything startpunkt


def container(objs: list[Obj]) -> Obj:
    containers = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "startpunkt")


# -- RBAC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(VALUE_SETS), *sorted(RBAC_SETS)])
def test_rbac_grants_exactly_what_the_configuration_reads(helm: Helm, name: str) -> None:
    """The same check as for the kustomize overlays (tests/deploy/grants.py)."""
    values = {**VALUE_SETS, **RBAC_SETS}[name]
    objs = helm.template(values)
    urlfrom = values.get("startpunkt", {}).get("rbac", {}).get("urlFrom", {}).get("enabled")
    extra = {("", "configmaps"), ("", "services")} if urlfrom else set()
    assert role_components_problems(objs) == []
    assert source_reader_problems(objs, SERVICE_ACCOUNT, extra) == []
    assert leader_election_problems(objs, SERVICE_ACCOUNT, DEFAULT_LEASE) == []


def test_few_sources_grant_less(helm: Helm) -> None:
    """Switching sources off in the configuration takes their rules away."""
    (role,) = [
        r
        for r in of_kind(helm.template(RBAC_SETS["few-sources"]), "Role")
        if component(r) == SOURCE_READER
    ]
    groups = {group for group, _, _, _ in named_rules(role)}
    assert groups == {"startpunkt.ullberg.us", "networking.k8s.io", "discovery.k8s.io"}
    assert not any(verb == "patch" for _, _, verb, _ in named_rules(role))


def test_namespaces_from_the_configuration_get_roles(helm: Helm) -> None:
    objs = helm.template(RBAC_SETS["namespaced-by-config"])
    readers = [r for r in of_kind(objs, "Role", "ClusterRole") if component(r) == SOURCE_READER]
    assert {(r["kind"], r["metadata"]["namespace"]) for r in readers} == {
        ("Role", "apps"), ("Role", "media")
    }  # fmt: skip
    nothing = helm.template(RBAC_SETS["reads-no-namespace"])
    assert [
        r for r in of_kind(nothing, "Role", "ClusterRole") if component(r) == SOURCE_READER
    ] == []


def test_lease_rbac_follows_the_configured_lease_name(helm: Helm) -> None:
    values = {"startpunkt": {"config": {"leaderElection": {"leaseName": "portal"}}}}
    objs = helm.template(values)
    assert leader_election_problems(objs, SERVICE_ACCOUNT, "portal") == []
    switched_off = {"startpunkt": {"config": {"leaderElection": {"enabled": False}}}}
    roles = of_kind(helm.template(switched_off), "Role")
    assert [r for r in roles if component(r) == LEADER_ELECTION] == []


def test_no_rbac_when_told_to_bring_your_own(helm: Helm) -> None:
    objs = helm.template({"startpunkt": {"rbac": {"create": False}}})
    assert of_kind(objs, "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding") == []


# -- the chart and kustomize agree --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_set_name", "overlay"),
    [("default", "cluster-wide"), ("namespaced", "namespaced")],
)
def test_chart_and_kustomize_agree(helm: Helm, value_set_name: str, overlay: str) -> None:
    """On the CRDs, the RBAC rules, and the container's command, environment, probes,
    resources and security context, the pod's security context, the replicas and the budget."""
    chart = helm.template(VALUE_SETS[value_set_name], "--include-crds")
    kustomized = render(DEPLOY / "overlays" / overlay)

    crds = sorted(of_kind(chart, "CustomResourceDefinition"), key=lambda c: c["metadata"]["name"])
    shipped = sorted(
        (d for p in CRDS.glob("*.yaml") for d in load_yaml(p)), key=lambda c: c["metadata"]["name"]
    )
    assert crds == shipped

    def rbac(objs: list[Obj]) -> dict[tuple[str, str, str | None], set[Any]]:
        return {
            (str(component(r)), r["kind"], r["metadata"].get("namespace")): named_rules(r)
            for r in of_kind(objs, "Role", "ClusterRole")
        }

    assert rbac(chart) == rbac(kustomized)
    assert settings_of(chart) == settings_of(kustomized)

    ours, theirs = container(chart), container(kustomized)
    container_keys = ["args", "env", "ports", "startupProbe", "livenessProbe", "readinessProbe"]
    container_keys += ["resources", "securityContext", "volumeMounts", "image", "imagePullPolicy"]
    for key in container_keys:
        assert ours.get(key) == theirs.get(key), key
    pod = one(chart, "Deployment")["spec"]
    kpod = one(kustomized, "Deployment")["spec"]
    for key in ("replicas", "strategy", "revisionHistoryLimit"):
        assert pod[key] == kpod[key], key
    for key in ("securityContext", "enableServiceLinks", "volumes"):
        ours_value = pod["template"]["spec"][key]
        theirs_value = kpod["template"]["spec"][key]
        if key == "volumes":  # the ConfigMap's name differs: kustomize appends a hash
            ours_value = [v for v in ours_value if "configMap" not in v]
            theirs_value = [v for v in theirs_value if "configMap" not in v]
        assert ours_value == theirs_value, key
    budget = {k: v for k, v in one(chart, "PodDisruptionBudget")["spec"].items() if k != "selector"}
    kbudget = {
        k: v for k, v in one(kustomized, "PodDisruptionBudget")["spec"].items() if k != "selector"
    }
    assert budget == kbudget
    service, kservice = one(chart, "Service"), one(kustomized, "Service")
    assert service["spec"]["ports"] == kservice["spec"]["ports"]
    assert service["metadata"]["annotations"] == kservice["metadata"]["annotations"]
