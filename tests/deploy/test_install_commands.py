"""The commands and paths deploy/README.md gives work as written."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import Kubectl, ensure_namespace
from tests.deploy.rendering import CRDS, DEPLOY, REPO, URLFROM_TARGETS, granted, one, render
from tests.kubecluster import KubeCluster

README = DEPLOY / "README.md"


def test_every_path_the_readme_names_exists() -> None:
    text = README.read_text()
    paths = set(re.findall(r"\bdeploy/[\w./-]*\w", text))
    paths |= {f"deploy/{p}" for p in re.findall(r"^\| `([\w./-]+)/`", text, re.MULTILINE)}
    assert paths
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert missing == []


def readme_kustomization(after: str, workdir: Path) -> str:
    """The first YAML block of the README after `after`, written to workdir/kustomization.yaml
    with its GitHub URLs pointing at this checkout."""
    text = README.read_text()
    section = text[text.index(after) :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```\n", 10)]

    def local(match: re.Match[str]) -> str:
        return os.path.relpath(REPO / match.group(1), workdir)

    block = re.sub(r"https://github\.com/[\w-]+/[\w-]+//([\w/-]+)\?ref=\S+", local, block)
    (workdir / "kustomization.yaml").write_text(block)
    return block


def test_own_overlay_example_renders_with_its_overrides(tmp_path: Path) -> None:
    """The README's "your own overlay", with its GitHub URLs pointing at this checkout."""
    block = readme_kustomization("### Your own overlay", tmp_path)
    shutil.copy(DEPLOY / "base" / "startpunkt.yaml", tmp_path / "startpunkt.yaml")
    with (tmp_path / "startpunkt.yaml").open("a") as f:
        f.write("# edited\n")
    documented = yaml.safe_load(block)

    objs = render(tmp_path)
    (image,) = documented["images"]
    containers = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == f"{image['newName']}:{image['newTag']}"
    configmap = one(objs, "ConfigMap")
    assert configmap["data"]["startpunkt.yaml"].endswith("# edited\n")
    volumes = one(objs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert configmap["metadata"]["name"] in [v.get("configMap", {}).get("name") for v in volumes]
    assert granted(one(objs, "ClusterRole")) >= URLFROM_TARGETS


@pytest.mark.cluster
def test_kubernetes_1_20_kustomization_passes_server_side_dry_run(
    startpunkt_crds: KubeCluster, admin_kubectl: Kubectl, tmp_path: Path
) -> None:
    """The README's kustomization for Kubernetes 1.20, on the tests' 1.20 apiserver."""
    readme_kustomization("The overlays need Kubernetes >= 1.21", tmp_path)
    objs = render(tmp_path)
    assert one(objs, "PodDisruptionBudget")["apiVersion"] == "policy/v1beta1"
    ensure_namespace(startpunkt_crds.api, "startpunkt")
    result = admin_kubectl(
        "apply", "--server-side", "--field-manager=startpunkt-deploy-tests", "--dry-run=server",
        "-f", "-", input=yaml.safe_dump_all(objs),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.cluster
@pytest.mark.parametrize("how", ["-f", "-k"])
def test_crds_apply_as_a_directory_of_files_and_as_a_kustomization(
    kube_cluster: KubeCluster, admin_kubectl: Kubectl, how: str
) -> None:
    """`kubectl apply -f deploy/crds/` must not trip over the kustomization that lets
    deploy/crds-cel reuse the directory (it is named `Kustomization`, without .yaml)."""
    result = admin_kubectl("apply", "--dry-run=server", how, str(CRDS))
    assert result.returncode == 0, result.stderr
    applied = sorted(line.split()[0] for line in result.stdout.splitlines())
    assert applied == [
        "customresourcedefinition.apiextensions.k8s.io/applications.startpunkt.ullberg.us",
        "customresourcedefinition.apiextensions.k8s.io/bookmarks.startpunkt.ullberg.us",
    ]
