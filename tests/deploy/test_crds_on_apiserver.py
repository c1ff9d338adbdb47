"""deploy/crds on a real kube-apiserver (1.20): established and served in every version; the
examples are accepted and read back intact; malformed objects are refused with the field
named; status and printer columns work as `kubectl get` shows them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Kubectl
from tests.deploy.crdfields import APPLICATION_FIELDS, BOOKMARK_FIELDS
from tests.deploy.rendering import EXAMPLES, GROUP, VERSIONS, Obj, load_yaml
from tests.kubecluster import KubeCluster

pytestmark = pytest.mark.cluster

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def path(kind: str, namespace: str, version: str = "v1alpha4", name: str = "") -> str:
    plural = {"Application": "applications", "Bookmark": "bookmarks"}[kind]
    base = f"/apis/{GROUP}/{version}/namespaces/{namespace}/{plural}"
    return f"{base}/{name}" if name else base


def app(version: str = "v1alpha4", **spec: Any) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "Application",
        "metadata": {"name": "probe"},
        "spec": spec,
    }


def bookmark(**spec: Any) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1alpha4",
        "kind": "Bookmark",
        "metadata": {"name": "probe"},
        "spec": spec,
    }


def dry_run_create(cluster: KubeCluster, namespace: str, obj: Obj) -> tuple[int, str]:
    version = obj["apiVersion"].rsplit("/", 1)[1]
    response = cluster.api.request(
        "POST",
        path(obj["kind"], namespace, version),
        body=obj,
        params={"dryRun": "All"},
        check=False,
    )
    return response.status_code, response.text


def test_crds_are_established_and_serve_every_version(startpunkt_crds: KubeCluster) -> None:
    api = startpunkt_crds.api
    group = api.get(f"/apis/{GROUP}")
    assert sorted(v["version"] for v in group["versions"]) == list(VERSIONS)
    assert group["preferredVersion"]["version"] == "v1alpha4"
    for plural in ("applications", "bookmarks"):
        crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True"
        assert conditions.get("NamesAccepted") == "True"
        assert "NonStructuralSchema" not in conditions
    for version in VERSIONS:
        resources = {r["name"]: r for r in api.get(f"/apis/{GROUP}/{version}")["resources"]}
        assert {"applications", "bookmarks", "applications/status", "bookmarks/status"} <= set(
            resources
        )
        assert resources["applications"]["shortNames"] == ["stapp"]
        assert resources["bookmarks"]["categories"] == ["startpunkt"]


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_is_accepted_and_reads_back_in_v1alpha4_and_v1alpha1(
    startpunkt_crds: KubeCluster, kube_namespace: str, example: Path
) -> None:
    api = startpunkt_crds.api
    docs = load_yaml(example)
    assert docs
    for doc in docs:
        if doc["apiVersion"].split("/")[0] != GROUP:  # e.g. the ConfigMap urlFrom reads
            api.apply({**doc, "metadata": {**doc["metadata"], "namespace": kube_namespace}})
            continue
        kind, name = doc["kind"], doc["metadata"]["name"]
        version = doc["apiVersion"].rsplit("/", 1)[1]
        response = api.request("POST", path(kind, kube_namespace, version), body=doc)
        warnings = response.headers.get("warning", "")
        assert ("deprecated" in warnings) is (version != "v1alpha4"), warnings

        # nothing the example sets was pruned as unknown
        stored = api.get(path(kind, kube_namespace, "v1alpha4", name))
        assert stored["spec"] == doc["spec"]
        # an old client sees the fields its version has
        old = api.get(path(kind, kube_namespace, "v1alpha1", name))
        fields = APPLICATION_FIELDS["v1alpha1"] if kind == "Application" else BOOKMARK_FIELDS
        assert old["apiVersion"] == f"{GROUP}/v1alpha1"
        assert old["spec"] == {k: v for k, v in doc["spec"].items() if k in fields}


INVALID = {
    "v1alpha4 application without name": (app(url="https://a.example"), "spec.name"),
    "location as a string": (
        app(name="a", url="https://a.example", location="10"),
        "spec.location",
    ),
    "targetBlank as a string": (app(name="a", targetBlank="yes"), "spec.targetBlank"),
    "v1alpha1 application without url": (app("v1alpha1", name="a"), "spec.url"),
    "v1alpha3 application without url": (app("v1alpha3", name="a"), "spec.url"),
    "url without a scheme": (app(name="a", url="grafana.example.com"), "spec.url"),
    "url with a space": (app(name="a", url="https://a.example/x y"), "spec.url"),
    "urlFrom without property": (
        app(name="a", urlFrom={"apiVersion": "v1", "kind": "ConfigMap", "name": "c"}),
        "spec.urlFrom.property",
    ),
    "urlFrom with a lower-case kind": (
        app(
            name="a",
            urlFrom={"apiVersion": "v1", "kind": "configmap", "name": "c", "property": "data.x"},
        ),
        "spec.urlFrom.kind",
    ),
    "acceptedStatusCodes not codes": (
        app(name="a", acceptedStatusCodes="ok"),
        "acceptedStatusCodes",
    ),
    "probeTimeout not a duration": (app(name="a", probeTimeout="soon"), "spec.probeTimeout"),
    "probe as a string": (app(name="a", probe="false"), "spec.probe"),
    "bookmark without group": (bookmark(name="b", url="https://b.example"), "spec.group"),
    "bookmark location as a string": (
        bookmark(name="b", group="g", url="https://b.example", location="first"),
        "spec.location",
    ),
    "no spec at all": ({**app(), "spec": None}, "spec"),
}


@pytest.mark.parametrize(("obj", "field"), INVALID.values(), ids=INVALID.keys())
def test_schema_refuses_malformed_objects(
    startpunkt_crds: KubeCluster, kube_namespace: str, obj: Obj, field: str
) -> None:
    if obj["spec"] is None:
        obj = {k: v for k, v in obj.items() if k != "spec"}
    status, body = dry_run_create(startpunkt_crds, kube_namespace, obj)
    assert status == 422, body
    assert field in body


VALID = {
    "probeTimeout as seconds": app(name="a", url="https://a.example", probeTimeout=5),
    "probeTimeout in ms": app(name="a", url="https://a.example", probeTimeout="500ms"),
    "probeTimeout fractional": app(name="a", url="https://a.example", probeTimeout="1.5s"),
    "status code list with spaces": app(name="a", acceptedStatusCodes="200-299, 401 ,403"),
    "only urlFrom": app(
        name="a",
        urlFrom={"apiVersion": "v1", "kind": "Service", "name": "s", "property": "spec.clusterIP"},
    ),
    "negative location sorts first": app(name="a", url="http://a.local:8080/", location=-1),
    "v1alpha2 with rootPath": app("v1alpha2", name="a", url="https://a.example", rootPath="/x"),
}


@pytest.mark.parametrize("obj", VALID.values(), ids=VALID.keys())
def test_schema_accepts_the_documented_forms(
    startpunkt_crds: KubeCluster, kube_namespace: str, obj: Obj
) -> None:
    status, body = dry_run_create(startpunkt_crds, kube_namespace, obj)
    assert status == 201, body


def test_status_is_kept_and_shown_in_printer_columns(
    startpunkt_crds: KubeCluster, kube_namespace: str
) -> None:
    api = startpunkt_crds.api
    obj = app(name="Grafana", group="Monitoring", url="https://grafana.example")
    api.post(path("Application", kube_namespace), obj)
    status = {
        "url": "https://grafana.example/d/home",
        "available": True,
        "lastChecked": "2026-01-02T03:04:05Z",
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "Probed",
                "message": "HTTP 200 in 12 ms",
                "lastTransitionTime": "2026-01-02T03:04:05Z",
            }
        ],
    }
    api.patch(path("Application", kube_namespace, name="probe") + "/status", {"status": status})
    assert api.get(path("Application", kube_namespace, name="probe"))["status"] == status

    response = api.client.get(
        path("Application", kube_namespace, name="probe"), headers={"Accept": TABLE}
    )
    table = response.json()
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "Name", "Group", "URL", "Available"]  # first: metadata.name
    (row,) = table["rows"]
    assert row["cells"][:5] == ["probe", "Grafana", "Monitoring", "https://grafana.example", True]


def test_kubectl_finds_both_kinds_by_short_name_and_category(
    startpunkt_crds: KubeCluster, kube_namespace: str, admin_kubectl: Kubectl
) -> None:
    api = startpunkt_crds.api
    api.post(path("Application", kube_namespace), app(name="A", url="https://a.example"))
    api.post(
        path("Bookmark", kube_namespace), bookmark(name="B", group="g", url="https://b.example")
    )
    expected = {f"application.{GROUP}/probe", f"bookmark.{GROUP}/probe"}
    for what in ("startpunkt", "stapp,stbm"):
        result = admin_kubectl("get", what, "-n", kube_namespace, "-o", "name")
        assert result.returncode == 0, result.stderr
        assert set(result.stdout.split()) == expected


def test_old_version_write_drops_newer_fields(
    startpunkt_crds: KubeCluster, kube_namespace: str
) -> None:
    """Why the README says to change objects through v1alpha4: there is no conversion, so a
    read-modify-write through v1alpha1 loses what v1alpha1 cannot express."""
    api = startpunkt_crds.api
    url_from = {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "property": "data.x"}
    api.post(
        path("Application", kube_namespace),
        app(name="a", url="https://a.example", tags="ops", urlFrom=url_from),
    )
    old = api.get(path("Application", kube_namespace, "v1alpha1", "probe"))
    changed = copy.deepcopy(old)
    changed["spec"]["info"] = "edited by an old client"
    api.put(path("Application", kube_namespace, "v1alpha1", "probe"), changed)
    now = api.get(path("Application", kube_namespace, name="probe"))["spec"]
    assert now["info"] == "edited by an old client"
    assert "urlFrom" not in now
    assert "tags" not in now
