"""The CRDs in deploy/crds declare the fields of each version as the original defined them
(plus Startpunkt's extensions on v1alpha4), and keep CEL out of the part that must apply on
Kubernetes 1.20."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.deploy.crdfields import (
    APPLICATION_FIELDS,
    APPLICATION_REQUIRED,
    BOOKMARK_FIELDS,
    BOOKMARK_V1ALPHA4_FIELDS,
    URLFROM_FIELDS,
    URLFROM_REQUIRED,
)
from tests.deploy.rendering import CRDS, DEPLOY, GROUP, VERSIONS, Obj, load_yaml, render

COLUMNS = ["Name", "Group", "URL", "Available", "Age"]


def crd(plural: str) -> Obj:
    (doc,) = load_yaml(CRDS / f"{plural.removesuffix('s')}.yaml")
    assert doc["metadata"]["name"] == f"{plural}.{GROUP}"
    return doc


def version(doc: Obj, name: str) -> Obj:
    return next(v for v in doc["spec"]["versions"] if v["name"] == name)


def spec_schema(doc: Obj, name: str) -> Obj:
    schema: Obj = version(doc, name)["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def walk(node: Any, path: str = "") -> list[str]:
    """Paths of every `x-kubernetes-validations` under node."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-kubernetes-validations":
                found.append(path)
            found += walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += walk(value, f"{path}/{i}")
    return found


@pytest.mark.parametrize("plural", ["applications", "bookmarks"])
def test_versions_names_and_columns(plural: str) -> None:
    doc = crd(plural)
    spec = doc["spec"]
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["startpunkt"]
    assert spec["names"]["shortNames"] == [{"applications": "stapp", "bookmarks": "stbm"}[plural]]
    assert sorted(v["name"] for v in spec["versions"]) == list(VERSIONS)
    for v in spec["versions"]:
        assert v["served"] is True
        assert v["storage"] is (v["name"] == "v1alpha4")
        assert v.get("deprecated", False) is (v["name"] != "v1alpha4")
        if v["name"] != "v1alpha4":
            assert "v1alpha4" in v["deprecationWarning"]
        assert v["subresources"] == {"status": {}}
        columns = {c["name"]: c for c in v["additionalPrinterColumns"]}
        assert [c["name"] for c in v["additionalPrinterColumns"] if not c.get("priority")] == (
            COLUMNS
        )
        assert columns["Available"]["jsonPath"] == ".status.available"
        status = v["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        assert {"url", "available", "lastChecked", "conditions"} <= status.keys()


@pytest.mark.parametrize("name", VERSIONS)
def test_application_fields_per_version(name: str) -> None:
    schema = spec_schema(crd("applications"), name)
    assert set(schema["properties"]) == APPLICATION_FIELDS[name]
    assert set(schema["required"]) == APPLICATION_REQUIRED[name]
    props = schema["properties"]
    assert props["location"]["type"] == "integer"
    assert props["targetBlank"]["type"] == props["enabled"]["type"] == "boolean"
    if name == "v1alpha4":
        url_from = props["urlFrom"]
        assert set(url_from["properties"]) == URLFROM_FIELDS
        assert set(url_from["required"]) == URLFROM_REQUIRED
        assert props["probeTimeout"]["x-kubernetes-int-or-string"] is True
        assert props["probe"]["type"] == "boolean"


@pytest.mark.parametrize("name", VERSIONS)
def test_bookmark_fields_are_the_same_in_every_version_but_groups_in_v1alpha4(name: str) -> None:
    schema = spec_schema(crd("bookmarks"), name)
    fields = BOOKMARK_V1ALPHA4_FIELDS if name == "v1alpha4" else BOOKMARK_FIELDS
    assert set(schema["properties"]) == fields
    assert set(schema["required"]) == {"name", "group", "url"}


def test_crds_carry_no_cel_so_they_apply_on_kubernetes_1_20() -> None:
    for plural in ("applications", "bookmarks"):
        assert walk(crd(plural)) == []


def test_cel_component_adds_rules_to_existing_v1alpha4_fields_only() -> None:
    """deploy/crds-cel renders; stripped of its rules it is exactly deploy/crds, so every
    patch landed on a field that exists, and all of them on v1alpha4."""
    rendered = {d["metadata"]["name"]: d for d in render(DEPLOY / "crds-cel")}
    base = {d["metadata"]["name"]: d for d in render(CRDS)}
    assert rendered.keys() == base.keys()

    expected = {
        f"applications.{GROUP}": {
            "spec",
            "spec/properties/url",
            "spec/properties/healthUrl",
            "spec/properties/urlFrom/properties/urlTemplate",
        },
        f"bookmarks.{GROUP}": {"spec/properties/url"},
    }
    for name, doc in rendered.items():
        versions = doc["spec"]["versions"]
        with_rules = {v["name"] for v in versions if walk(v)}
        assert with_rules == {"v1alpha4"}, name
        v4 = version(doc, "v1alpha4")["schema"]["openAPIV3Schema"]["properties"]
        assert {p.strip("/") for p in walk(v4)} == expected[name]
        for path in walk(v4):
            node = v4
            for key in path.strip("/").split("/"):
                node = node[key]
            for rule in node["x-kubernetes-validations"]:
                assert rule["rule"]
                assert rule["message"]

        stripped = copy.deepcopy(doc)
        strip(stripped)
        assert stripped == base[name]


def strip(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("x-kubernetes-validations", None)
        for value in node.values():
            strip(value)
    elif isinstance(node, list):
        for value in node:
            strip(value)


@pytest.mark.parametrize("plural", ["applications", "bookmarks"])
def test_a_field_means_the_same_in_every_version(plural: str) -> None:
    """The four versions are edited by hand; a field they share must validate alike."""
    doc = crd(plural)
    newest = spec_schema(doc, "v1alpha4")["properties"]
    for name in VERSIONS:
        for field, schema in spec_schema(doc, name)["properties"].items():
            assert schema == newest[field], f"{name} spec.{field} differs from v1alpha4"
        status = version(doc, name)["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert (
            status == version(doc, "v1alpha4")["schema"]["openAPIV3Schema"]["properties"]["status"]
        )
