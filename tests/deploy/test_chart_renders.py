"""The Helm chart, rendered by the real helm: it lints strictly, refuses wrong values with the
schema's message, renders a configuration Startpunkt accepts and a pod that can start, grants
exactly what that configuration reads, and agrees with the kustomize overlays."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from startpunkt import cli, config
from tests.deploy import chartreadme
from tests.deploy.charting import CHART, RBAC_SETS, RELEASE, VALUE_SETS, Helm
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
    REPO,
    Obj,
    load_yaml,
    of_kind,
    one,
    render,
    settings_of,
)

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
SERVICE_ACCOUNT = (NAMESPACE, RELEASE)  # the release "startpunkt" names everything startpunkt


@pytest.fixture(scope="module", params=sorted(VALUE_SETS), ids=str)
def value_set(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendering(helm: Helm, value_set: str) -> list[Obj]:
    return helm.template(VALUE_SETS[value_set])


def container(objs: list[Obj]) -> Obj:
    containers = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "startpunkt")


def configuration_text(objs: list[Obj]) -> str:
    return str(one(objs, "ConfigMap")["data"]["startpunkt.yaml"])


# -- the chart itself ---------------------------------------------------------------------------


def test_chart_lints_strictly_with_every_value_set(helm: Helm) -> None:
    for name, values in VALUE_SETS.items():
        result = helm.run("lint", "--strict", str(CHART), values=values)
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == VERSION
    assert chart["version"] == VERSION


def test_default_image_is_the_package_version(helm: Helm) -> None:
    image = container(helm.template({}))["image"]
    assert image == f"ghcr.io/startpunkt-py/startpunkt:{VERSION}"


def test_chart_crds_are_the_files_of_deploy_crds() -> None:
    """One source of truth: the chart ships deploy/crds/ unchanged (copy them over after an
    edit there)."""
    ours = {p.name: p.read_bytes() for p in (CHART / "crds").iterdir()}
    theirs = {p.name: p.read_bytes() for p in CRDS.glob("*.yaml")}
    assert ours == theirs


def test_readme_lists_every_value_of_values_yaml() -> None:
    """README.md's table is values.yaml's: every key, its default, its description
    (`.venv/bin/python -m tests.deploy.chartreadme` rewrites it)."""
    values_yaml = (CHART / "values.yaml").read_text()
    rows, undocumented = chartreadme.documented(values_yaml)
    assert undocumented == [], "give these a `# --` comment in values.yaml"
    readme = (CHART / "README.md").read_text()
    assert chartreadme.current_section(readme) == chartreadme.section(values_yaml)
    values = yaml.safe_load(values_yaml)
    assert {r.key.split(".")[1] for r in rows} == set(values["startpunkt"])


def test_schema_knows_every_configuration_key() -> None:
    """`startpunkt.config` may hold every top-level key of startpunkt.yaml, and no other (a
    misspelt one fails `helm install` instead of the pod). leaderElection is the leader
    election's section."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    allowed = set(schema["properties"]["startpunkt"]["properties"]["config"]["properties"])
    keys = {info.alias or name for name, info in config.Settings.model_fields.items()}
    assert keys <= allowed, "add them to startpunkt.config in values.schema.json"
    assert allowed - keys <= {"leaderElection"}


# -- wrong values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"startpunkt": {"deployment": {"replicas": "two"}}},
            "startpunkt.deployment.replicas: Invalid type. Expected: integer, given: string",
        ),
        (
            {"startpunkt": {"image": {"nmae": "x"}}},
            "startpunkt.image: Additional property nmae is not allowed",
        ),
        (
            {"startpunkt": {"config": {"hajimary": {"enabled": False}}}},
            "startpunkt.config: Additional property hajimary is not allowed",
        ),
        (
            {"startpunkt": {"rbac": {"namespaced": ["Apps"]}}},
            "startpunkt.rbac.namespaced.0: Does not match pattern",
        ),
    ],
    ids=["replicas-two", "misspelt-key", "misspelt-config-key", "bad-namespace"],
)
def test_wrong_value_fails_with_the_schemas_message(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    error = helm.template_error(values)
    assert "values don't meet the specifications of the schema" in error
    assert message in error


def test_namespaces_set_twice_fail_with_a_message(helm: Helm) -> None:
    values = {
        "startpunkt": {
            "rbac": {"namespaced": ["apps"]},
            "config": {"namespaceSelector": {"any": True}},
        }
    }
    error = helm.template_error(values)
    assert "list the namespaces in startpunkt.rbac.namespaced only" in error


# -- what a rendering runs ----------------------------------------------------------------------


def test_rendered_configuration_passes_check_config(rendering: list[Obj], tmp_path: Path) -> None:
    """`startpunkt check-config` (the command users run) accepts the ConfigMap's file."""
    path = tmp_path / "startpunkt.yaml"
    path.write_text(configuration_text(rendering))
    command = Path(sys.executable).with_name("startpunkt")
    result = subprocess.run(
        [str(command), "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},  # no STARTPUNKT_* of the test run's environment
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["namespaceSelector"]


def test_every_optional_configuration_key_arrives_unchanged(helm: Helm) -> None:
    values = VALUE_SETS["every-optional-on"]
    settings = settings_of(helm.template(values))
    expected = config.Settings.model_validate(values["startpunkt"]["config"])
    assert settings == expected
    assert settings.realtime.max_connections == 1000000  # not 1e+06


def test_namespaced_sets_what_startpunkt_reads(helm: Helm) -> None:
    settings = settings_of(helm.template(VALUE_SETS["namespaced"]))
    assert settings.namespace_selector.any is False
    assert settings.namespace_selector.match_names == ("apps", "media")


def test_command_line_reads_the_mounted_configuration(rendering: list[Obj]) -> None:
    """The container's arguments, parsed by Startpunkt's own parser, point at the ConfigMap's
    file and listen where the probes, the Service and the scrape annotations connect."""
    main = container(rendering)
    args = cli._parser().parse_args(main["args"])
    assert args.command == "serve"
    pod = one(rendering, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    configmap = one(rendering, "ConfigMap")
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == configmap["metadata"]["name"]
    assert args.config == Path(mounts[config_volume]) / "startpunkt.yaml"

    assert args.host == "0.0.0.0"
    (port,) = main["ports"]
    assert (port["name"], port["containerPort"]) == ("http", args.port)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"]["port"] == "http"
    service = one(rendering, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["metadata"]["annotations"]["prometheus.io/port"] == str(args.port)
    assert service["spec"]["selector"].items() <= pod_labels(rendering).items()


def pod_labels(objs: list[Obj]) -> dict[str, str]:
    labels: dict[str, str] = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return labels


def test_pod_meets_the_restricted_pod_security_standard(rendering: list[Obj]) -> None:
    pod = one(rendering, "Deployment")["spec"]["template"]["spec"]
    main = container(rendering)
    security = {**pod["securityContext"], **main["securityContext"]}
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    assert security["readOnlyRootFilesystem"] is True
    assert pod["enableServiceLinks"] is False  # STARTPUNKT_* service variables are config
    assert all(set(v) - {"name"} <= {"configMap", "emptyDir"} for v in pod["volumes"])
    assert pod["serviceAccountName"] == one(rendering, "ServiceAccount")["metadata"]["name"]


def test_pods_know_their_identity_and_a_budget_keeps_one(rendering: list[Obj]) -> None:
    env = {e["name"]: e.get("valueFrom") for e in container(rendering)["env"]}
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    deployment = one(rendering, "Deployment")
    assert deployment["spec"]["replicas"] >= 2
    budget = one(rendering, "PodDisruptionBudget")
    assert (
        budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    )
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels(rendering).items()


def test_configuration_change_rolls_the_pods(helm: Helm) -> None:
    def checksum(values: dict[str, Any]) -> str:
        pod = one(helm.template(values), "Deployment")["spec"]["template"]
        return str(pod["metadata"]["annotations"]["checksum/config"])

    titled = {"startpunkt": {"config": {"web": {"title": "Home"}}}}
    assert checksum({}) != checksum(titled)
    assert checksum(titled) == checksum(titled)


def test_one_replica_gets_no_disruption_budget(helm: Helm) -> None:
    """A budget over one pod would block every node drain."""
    single = helm.template({"startpunkt": {"deployment": {"replicas": 1}}})
    assert of_kind(single, "PodDisruptionBudget") == []
    assert (
        of_kind(helm.template({"startpunkt": {"podDisruptionBudget": None}}), "PodDisruptionBudget")
        == []
    )


def test_disruption_budget_api_follows_the_kubernetes_version(helm: Helm) -> None:
    assert one(helm.template({}), "PodDisruptionBudget")["apiVersion"] == "policy/v1"
    old = helm.template({}, "--kube-version", "1.20.2")
    assert one(old, "PodDisruptionBudget")["apiVersion"] == "policy/v1beta1"


def test_every_optional_part_is_rendered_and_points_at_the_service(helm: Helm) -> None:
    objs = helm.template(VALUE_SETS["every-optional-on"])
    service = one(objs, "Service")
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]

    ingress = one(objs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": name, "port": {"name": port["name"]}}
    assert (
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    )

    route = one(objs, "Route")
    assert route["spec"]["to"]["name"] == name
    assert route["spec"]["port"]["targetPort"] == port["name"]
    assert route["spec"]["host"] == "startpunkt.apps.example.com"
    assert route["metadata"]["labels"]["router"] == "public"

    (ref,) = one(objs, "HTTPRoute")["spec"]["rules"][0]["backendRefs"]
    assert (ref["name"], ref["port"]) == (name, port["port"])

    monitor = one(objs, "ServiceMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == port["name"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"

    main = container(objs)
    assert {"name": "STARTPUNKT_LOG_LEVEL", "value": "debug"} in main["env"]
    assert main["image"] == "registry.example.com/startpunkt:0.1.0-mirror"
    assert all(o["metadata"]["labels"]["team"] == "platform" for o in objs)
    assert {o["metadata"].get("namespace") for o in objs} <= {NAMESPACE, None}


def test_without_the_optional_parts_nothing_exposes_startpunkt(helm: Helm) -> None:
    kinds = {o["kind"] for o in helm.template({})}
    assert kinds == {
        "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role",
        "RoleBinding", "Service", "Deployment", "PodDisruptionBudget",
    }  # fmt: skip


def test_an_original_chart_values_file_installs(helm: Helm) -> None:
    """A values file in the original chart's layout (tests/data/helm/original-values.yaml)
    carries over: image, replicas, probes, PDB, Ingress and Route, and an empty security
    context keeps the restricted defaults."""
    values = yaml.safe_load((REPO / "tests" / "data" / "helm" / "original-values.yaml").read_text())
    objs = helm.template(values)
    main = container(objs)
    assert main["image"] == "ghcr.io/startpunkt-py/startpunkt:0.1.0"
    assert one(objs, "Deployment")["spec"]["replicas"] == 2
    assert main["livenessProbe"]["httpGet"] == {
        "path": "/q/health/live", "scheme": "HTTP", "port": "http"
    }  # fmt: skip
    assert main["readinessProbe"]["initialDelaySeconds"] == 5
    assert main["startupProbe"]["httpGet"]["path"] == "/q/health/started"
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    budget = one(objs, "PodDisruptionBudget")["spec"]
    assert (budget["minAvailable"], "maxUnavailable" in budget) == ("50%", False)
    assert one(objs, "Ingress")["spec"]["rules"][0]["host"] == "start.example.com"
    assert "ingressClassName" not in one(objs, "Ingress")["spec"]
    assert one(objs, "Route")["spec"]["tls"]["termination"] == "edge"
    assert {o["metadata"].get("namespace") for o in objs} <= {"home", None}


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


# -- what the READMEs say -----------------------------------------------------------------------


def test_chart_readme_example_values_do_what_they_say(helm: Helm) -> None:
    readme = (CHART / "README.md").read_text()
    block = readme[
        readme.index("```yaml") + len("```yaml") : readme.index(
            "```\n", readme.index("```yaml") + 7
        )
    ]
    objs = helm.template(yaml.safe_load(block))
    settings = settings_of(objs)
    assert settings.web.title == "Home"
    assert settings.availability.interval == 30
    assert settings.namespace_selector.match_names == ("apps", "media")
    assert {
        r["metadata"]["namespace"] for r in of_kind(objs, "Role") if component(r) == SOURCE_READER
    } == {"apps", "media"}
    ingress = one(objs, "Ingress")
    assert (ingress["spec"]["ingressClassName"], ingress["spec"]["rules"][0]["host"]) == (
        "nginx",
        "start.example.com",
    )


def test_deploy_readme_namespaced_command_matches_the_namespaced_overlay(helm: Helm) -> None:
    """deploy/README.md's `--set 'startpunkt.rbac.namespaced={apps,media}'`."""
    text = (DEPLOY / "README.md").read_text()
    assert "--set 'startpunkt.rbac.namespaced={apps,media}'" in text
    by_flag = helm.template({}, "--set", "startpunkt.rbac.namespaced={apps,media}")
    assert by_flag == helm.template(VALUE_SETS["namespaced"])
