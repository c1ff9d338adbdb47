"""Validates JSON against the components of the server's own /api/openapi.json."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

URI = "urn:startpunkt:openapi"


class Contract:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(URI, resource)
        for schema in doc["components"]["schemas"].values():
            Draft202012Validator.check_schema(schema)  # each one is valid JSON Schema

    def check(self, schema: dict[str, Any], value: Any) -> None:
        ref = schema.get("$ref")
        root = {"$ref": f"{URI}{ref}"} if ref else schema
        Draft202012Validator(root, registry=self.registry).validate(value)

    def response_schema(self, template: str, status: int) -> dict[str, Any]:
        response = self.doc["paths"][template]["get"]["responses"][str(status)]
        schema: dict[str, Any] = response["content"]["application/json"]["schema"]
        return schema

    def component(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}
