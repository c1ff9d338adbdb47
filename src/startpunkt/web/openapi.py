"""The OpenAPI 3.1 description of the REST API and the event stream, served at /api/openapi.json.

The components are generated from the typed shapes in `startpunkt.shapes`, which the handlers
build their bodies with; the paths are written here. Schemas are JSON Schema 2020-12 and closed
(`additionalProperties: false`), so the tests that validate real responses catch any drift.
"""

from __future__ import annotations

from typing import Annotated, Any

from startpunkt.model import Verdict
from startpunkt.shapes.api import (
    EVENT_DATA,
    ApplicationGroupsJSON,
    ApplicationJSON,
    BookmarkGroupsJSON,
    BookmarkJSON,
    ConfigChangedJSON,
    ConfigJSON,
    DiagnosticsJSON,
    EnvelopeJSON,
    HeartbeatJSON,
    ItemKeyJSON,
    ResyncJSON,
    ThemeColorsJSON,
    ThemeJSON,
    TranslationsJSON,
)
from startpunkt.shapes.schema import Generator, Schema, doc, ref
from startpunkt.shapes.status import ErrorJSON, HealthJSON, SourcesJSON
from startpunkt.web.params import MAX_TAGS_LENGTH

STRING: Schema = {"type": "string"}

# component name -> the shape it is generated from
COMPONENTS: dict[str, Any] = {
    "Error": ErrorJSON,
    "Application": ApplicationJSON,
    "ApplicationGroups": ApplicationGroupsJSON,
    "Bookmark": BookmarkJSON,
    "BookmarkGroups": BookmarkGroupsJSON,
    "Config": ConfigJSON,
    "ThemeColors": ThemeColorsJSON,
    "Theme": ThemeJSON,
    "Translations": TranslationsJSON,
    "Diagnostics": DiagnosticsJSON,
    "Sources": Annotated[SourcesJSON, doc("watch or listing health, as the runtime reports it")],
    "Health": HealthJSON,
    "ItemKey": ItemKeyJSON,
    "Heartbeat": HeartbeatJSON,
    "Resync": ResyncJSON,
    "ConfigChanged": ConfigChangedJSON,
}


def _stream_event(generator: Generator) -> Schema:
    """One closed envelope per event type, each with its own `data`."""
    envelope = generator.component(EnvelopeJSON)
    return {
        "description": "the `data:` of one SSE event; `event:` repeats `type`",
        "oneOf": [
            {
                **envelope,
                "properties": {
                    **envelope["properties"],
                    "type": {"const": event_type},
                    "data": generator.of(data),
                },
            }
            for event_type, data in EVENT_DATA.items()
        ],
    }


def schemas() -> dict[str, Schema]:
    """Generated from the shapes in `startpunkt.shapes`, never written by hand."""
    generator = Generator(COMPONENTS)
    generated = {name: generator.component(shape) for name, shape in COMPONENTS.items()}
    return {**generated, "StreamEvent": _stream_event(generator)}


def _json(schema: str, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _error(description: str) -> Schema:
    return _json("Error", description)


def _get(summary: str, ok: Schema, *errors: tuple[int, str], **extra: Any) -> Schema:
    responses: dict[str, Schema] = {"200": ok}
    for status, description in errors:
        responses[str(status)] = _error(description)
    return {"get": {"summary": summary, "responses": responses, **extra}}


def _path_param(name: str, description: str, **schema: Any) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


TAGS_QUERY: Schema = {
    "name": "tags",
    "in": "query",
    "description": "comma-separated, case-insensitive; untagged apps always match",
    "schema": {"type": "string", "maxLength": MAX_TAGS_LENGTH},
}
ETAG_NOTE = "Served with a strong ETag; If-None-Match gives 304."
PING: Schema = {
    "get": {
        "summary": "Compatibility ping",
        "responses": {
            "200": {"description": "Pong", "content": {"text/plain": {"schema": STRING}}}
        },
    }
}


def _read_only(what: str) -> Schema:
    refusal = {"405": _error("Always: the API is read-only (the Allow header is empty)")}
    summary = f"The original's editor for {what}: refused, whatever the method"
    return {
        method: {"summary": summary, "responses": refusal}
        for method in ("get", "post", "put", "patch", "delete")
    }


def paths() -> dict[str, Schema]:
    apps_ok = _json("ApplicationGroups", "Groups of applications, sorted. " + ETAG_NOTE)
    return {
        "/api/apps/manage": _read_only("applications"),
        "/api/bookmarks/manage": _read_only("bookmarks"),
        "/api/apps": _get(
            "Applications, grouped",
            apps_ok,
            (400, "bad tags"),
            parameters=[TAGS_QUERY],
            description="Without tags: every app (web.showAllOnRoot) or only untagged ones.",
        ),
        "/api/apps/ping": PING,
        "/api/apps/{tags}": _get(
            "Applications matching any of the tags, plus untagged ones",
            apps_ok,
            (400, "bad tags"),
            parameters=[_path_param("tags", "comma-separated tags")],
        ),
        "/api/apps/{group}/{name}": _get(
            "One application (group and name compared case-insensitively)",
            _json("Application", "The application"),
            (404, "no such application"),
            parameters=[_path_param("group", "group name"), _path_param("name", "app name")],
        ),
        "/api/bookmarks": _get(
            "Bookmarks, grouped", _json("BookmarkGroups", "Groups of bookmarks. " + ETAG_NOTE)
        ),
        "/api/bookmarks/ping": PING,
        "/api/config": _get("Settings the page needs", _json("Config", "The configuration")),
        "/api/config/ping": PING,
        "/api/theme": _get("Theme colours", _json("Theme", "Light and dark colours")),
        "/api/theme/ping": PING,
        "/api/i8n": _get(
            "Translations for Accept-Language, else defaultLanguage, else en-US",
            _json("Translations", "The bundle; Content-Language names it"),
        ),
        "/api/i8n/ping": PING,
        "/api/i8n/{language}": _get(
            "Translations; an unknown language falls back to the same language, "
            "defaultLanguage, then en-US",
            _json("Translations", "The bundle; Content-Language names it"),
            (400, "not a language tag"),
            parameters=[_path_param("language", "en or en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")],
        ),
        "/api/diagnostics": _get(
            "What every Kubernetes object became, and why",
            _json("Diagnostics", "Objects sorted by kind, namespace, name"),
            (400, "unknown verdict"),
            parameters=[
                {
                    "name": "verdict",
                    "in": "query",
                    "description": "comma-separated: shown, hidden, rejected",
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "array", "items": {"enum": [v.value for v in Verdict]}},
                }
            ],
        ),
        "/api/sources": _get("Watch health per source", _json("Sources", "Per-source status")),
        "/api/openapi.json": _get(
            "This document",
            {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {}}}},
        ),
        "/api/updates/stream": _get(
            "Live updates (Server-Sent Events)",
            {
                "description": (
                    "text/event-stream. Each message is a plain `data:` StreamEvent (switch on "
                    "its `type`), `id:` the store revision (HEARTBEAT has none). First a "
                    "HEARTBEAT, then changes. The same envelopes come over the WebSocket "
                    "/api/ws/updates. "
                    "Resume with the Last-Event-ID header or ?lastEventId=; too old gives RESYNC."
                ),
                "content": {
                    "text/event-stream": {
                        "schema": STRING,
                        "x-event-schema": ref("StreamEvent"),
                    }
                },
            },
            (400, "bad tags or lastEventId"),
            (404, "realtime.enabled is false"),
            (503, "too many open streams"),
            parameters=[
                TAGS_QUERY,
                {"name": "lastEventId", "in": "query", "schema": {"type": "integer"}},
                {"name": "Last-Event-ID", "in": "header", "schema": STRING},
            ],
        ),
        "/livez": _get("Liveness", _json("Health", "The process answers")),
        "/readyz": _get(
            "Readiness: every source synced",
            _json("Health", "Ready"),
            (503, "sources not synced yet (notSynced lists them)"),
        ),
        "/metrics": _get(
            "Prometheus metrics",
            {
                "description": "Prometheus text format",
                "content": {"text/plain": {"schema": STRING}},
            },
        ),
    }


def document(version: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Startpunkt",
            "version": version or "0",
            "description": "Read-only API of a Kubernetes start page. Errors are JSON: Error.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths(),
        "components": {"schemas": schemas()},
    }
