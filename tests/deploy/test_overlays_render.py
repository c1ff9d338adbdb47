"""Each overlay renders into a Startpunkt that can start: a valid configuration mounted where
the command line reads it, reachable through its Service, fit for a read-only, non-root pod."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from startpunkt import cli, config
from tests.deploy.grants import SOURCE_READER, component
from tests.deploy.rendering import (
    COMPONENTS,
    DEPLOY,
    NAMESPACE,
    OVERLAYS,
    REPO,
    Obj,
    of_kind,
    one,
    render,
    settings_of,
    with_documented_components,
)

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


@pytest.fixture(scope="module", params=OVERLAYS, ids=lambda p: p.name)
def overlay(request: pytest.FixtureRequest) -> list[Obj]:
    return render(request.param)


def container(objs: list[Obj]) -> Obj:
    containers = one(objs, "Deployment", "startpunkt")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "startpunkt")


def test_base_configuration_documents_the_real_defaults() -> None:
    """deploy/base/startpunkt.yaml shows every default; if one drifts from config.py, users
    read a wrong value."""
    loaded = config.load(DEPLOY / "base" / "startpunkt.yaml", environ={})
    assert loaded == config.Settings()


def test_cluster_wide_reads_every_namespace() -> None:
    settings = settings_of(render(DEPLOY / "overlays" / "cluster-wide"))
    assert settings.namespace_selector.any is True


def test_namespaced_reads_only_listed_namespaces() -> None:
    settings = settings_of(render(DEPLOY / "overlays" / "namespaced"))
    assert settings.namespace_selector.any is False
    assert settings.namespace_selector.match_names == ("apps", "media")


def test_everything_lands_in_the_startpunkt_namespace(overlay: list[Obj]) -> None:
    namespaced = [o for o in overlay if o["kind"] not in CLUSTER_SCOPED]
    outside = [
        f"{o['kind']}/{o['metadata']['name']} in {o['metadata'].get('namespace')}"
        for o in namespaced
        if o["metadata"].get("namespace") != NAMESPACE and o["kind"] not in {"Role", "RoleBinding"}
    ]
    assert outside == []
    assert one(overlay, "Namespace")["metadata"]["name"] == NAMESPACE


def test_command_line_reads_the_mounted_configuration(overlay: list[Obj]) -> None:
    """The container's arguments, parsed by Startpunkt's own parser, point at the ConfigMap's
    file and listen where the probes and the Service connect."""
    main = container(overlay)
    args = cli._parser().parse_args(main["args"])
    assert args.command == "serve"

    pod = one(overlay, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    configmap = one(overlay, "ConfigMap")
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == configmap["metadata"]["name"]
    assert args.config == Path(mounts[config_volume]) / "startpunkt.yaml"
    assert "startpunkt.yaml" in configmap["data"]

    assert args.host not in {"127.0.0.1", "localhost", "::1"}, "unreachable from outside the pod"
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert ports["http"] == args.port
    assert main["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_service_reaches_the_pod_and_is_scraped(overlay: list[Obj]) -> None:
    service = one(overlay, "Service", "startpunkt")
    pod_labels = one(overlay, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert selector
    assert selector.items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (80, "http")
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(container(overlay)["ports"][0]["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_pod_meets_the_restricted_pod_security_standard(overlay: list[Obj]) -> None:
    """https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted, plus a
    read-only root filesystem with a writable /tmp."""
    pod = one(overlay, "Deployment")["spec"]["template"]["spec"]
    main = container(overlay)
    security = {**pod["securityContext"], **main["securityContext"]}
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 10001
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    assert security["readOnlyRootFilesystem"] is True
    assert security.get("privileged") is not True
    assert all(set(v) - {"name"} <= {"configMap", "emptyDir"} for v in pod["volumes"])
    tmp = next(m for m in main["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert pod["serviceAccountName"] == "startpunkt"
    assert one(overlay, "ServiceAccount")["metadata"]["name"] == "startpunkt"
    assert pod["enableServiceLinks"] is False  # STARTPUNKT_* service variables are config
    resources = main["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]
    namespace = one(overlay, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_two_replicas_a_disruption_budget_and_the_pod_identity(overlay: list[Obj]) -> None:
    """Two replicas keep the page up through a drain, which evicts one at a time; each pod
    knows its own name and namespace (downward API), the identity it holds the Lease with."""
    deployment = one(overlay, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    budget = one(overlay, "PodDisruptionBudget")
    assert budget["metadata"]["namespace"] == NAMESPACE
    assert budget["spec"]["maxUnavailable"] == 1
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    env = {e["name"]: e.get("valueFrom") for e in container(overlay)["env"]}
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_image_tag_is_the_project_version(overlay: list[Obj]) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert container(overlay)["image"] == f"ghcr.io/startpunkt-py/startpunkt:{version}"


@pytest.mark.parametrize("overlay_dir", OVERLAYS, ids=lambda p: p.name)
def test_documented_components_switch_on_in_each_overlay(overlay_dir: Path, tmp_path: Path) -> None:
    """Uncommenting `components:` in an overlay, as its comment says, exposes Startpunkt in
    its namespace through its Service, and adds urlFrom reads to every role."""
    objs = render(with_documented_components(overlay_dir, tmp_path))
    service = one(objs, "Service", "startpunkt")
    port = service["spec"]["ports"][0]

    ingress = one(objs, "Ingress", "startpunkt")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "startpunkt", "port": {"name": port["name"]}}

    route = one(objs, "HTTPRoute", "startpunkt")
    (ref,) = route["spec"]["rules"][0]["backendRefs"]
    assert (ref["name"], ref["port"]) == ("startpunkt", port["port"])

    for exposed in (ingress, route):
        assert exposed["metadata"]["namespace"] == NAMESPACE

    roles = of_kind(objs, "Role", "ClusterRole")
    readers = [r for r in roles if component(r) == SOURCE_READER]
    assert readers
    for role in readers:
        added = role["rules"][-1]
        assert added["apiGroups"] == [""]
        assert set(added["resources"]) == {"configmaps", "services"}


def test_every_component_is_offered_somewhere() -> None:
    """Each component is either in the overlays' commented `components:` list or used by a
    shipped kustomization, so none is left undocumented and untested."""
    offered_by = {
        overlay.name: {
            line.split("components/")[1].split()[0]
            for line in (overlay / "kustomization.yaml").read_text().splitlines()
            if line.startswith("#   - ../../components/")
        }
        for overlay in OVERLAYS
    }
    assert len({frozenset(s) for s in offered_by.values()}) == 1, offered_by
    offered = next(iter(offered_by.values()))
    used = (DEPLOY / "crds-cel" / "kustomization.yaml").read_text()
    offered |= {c.name for c in COMPONENTS if f"../components/{c.name}" in used}
    assert offered == {c.name for c in COMPONENTS}
