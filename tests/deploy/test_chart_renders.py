"""The Helm chart, rendered by the real helm: it lints strictly, refuses wrong values with the
schema's message, and renders a configuration Startpunkt accepts and a pod that can start; its
README lists every value and its examples do what they say."""

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
from tests.deploy.charting import CHART, VALUE_SETS, Helm
from tests.deploy.grants import SOURCE_READER, component
from tests.deploy.rendering import (
    CRDS,
    DEPLOY,
    NAMESPACE,
    REPO,
    Obj,
    of_kind,
    one,
    settings_of,
)

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


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
