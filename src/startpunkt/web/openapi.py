"""The OpenAPI 3.1 description of the REST API and the event stream, served at /api/openapi.json.

Schemas are JSON Schema 2020-12 and closed (`additionalProperties: false`) wherever the server
controls the shape, so the tests that validate real responses against them catch any drift.
"""

from __future__ import annotations

from typing import Any

from startpunkt.model import Verdict
from startpunkt.web.params import MAX_TAGS_LENGTH

Schema = dict[str, Any]

STATES = ["unknown", "up", "down", "degraded", "scaled-to-zero"]
CHANGE_TYPES = {
    "APPLICATION_ADDED": "Application",
    "APPLICATION_UPDATED": "Application",
    "STATUS_CHANGED": "Application",
    "APPLICATION_REMOVED": "ItemKey",
    "BOOKMARK_ADDED": "Bookmark",
    "BOOKMARK_UPDATED": "Bookmark",
    "BOOKMARK_REMOVED": "ItemKey",
    "HEARTBEAT": "Heartbeat",
    "RESYNC": "Resync",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(required: list[str], **properties: Schema) -> Schema:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


STRING: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}


def _item_properties() -> dict[str, Schema]:
    return {
        "key": {**STRING, "description": "stable identity: <source>/<namespace>/<name>[#n]"},
        "name": STRING,
        "group": STRING,
        "icon": STRING,
        "url": STRING,
        "info": STRING,
        "location": {**INT, "description": "sort position in the group; 0 or missing is 1000"},
        "namespace": STRING,
        "resourceName": STRING,
        "hasOwnerReferences": BOOL,
        "source": {**STRING, "description": "startpunkt, hajimari, ingress, route, ..."},
        **_cluster_properties(),
    }


def _cluster_properties() -> dict[str, Schema]:
    return {
        "cluster": {**STRING, "description": "the configured name of the item's cluster"},
        "stale": {"const": True, "description": "present while the item's cluster is away"},
        "lastContact": {**TIMESTAMP, "description": "when the stale item's cluster was last seen"},
    }


def schemas() -> dict[str, Schema]:
    app = closed(
        [
            "key",
            "name",
            "group",
            "targetBlank",
            "location",
            "enabled",
            "hasOwnerReferences",
            "source",
            "status",
            "available",
        ],
        **_item_properties(),
        iconColor=STRING,
        targetBlank=BOOL,
        enabled=BOOL,
        rootPath=STRING,
        tags={**STRING, "description": "comma-separated, as authored"},
        status={"enum": STATES},
        statusCode={**INT, "description": "only with availability.publishDetails: true"},
        latencyMs={"type": "number", "description": "only with availability.publishDetails: true"},
        lastChecked=TIMESTAMP,
        available={
            "type": ["boolean", "null"],
            "description": "null until the first check: never shown as up before that",
        },
    )
    mark = closed(
        ["key", "name", "group", "url", "location", "hasOwnerReferences", "source"],
        **_item_properties(),
        targetBlank=BOOL,
    )
    colors = closed(
        ["bodyBgColor", "bodyColor", "emphasisColor", "textPrimaryColor", "textAccentColor"],
        bodyBgColor=STRING,
        bodyColor=STRING,
        emphasisColor=STRING,
        textPrimaryColor=STRING,
        textAccentColor=STRING,
    )
    revision = {**INT, "description": "store revision of this snapshot; resume the stream here"}
    return {
        "Error": {
            "type": "object",
            "required": ["error", "status"],
            "properties": {"error": STRING, "status": INT},
        },
        "Application": app,
        "ApplicationGroups": closed(
            ["groups", "revision"],
            groups={
                "type": "array",
                "items": closed(
                    ["name", "applications"],
                    name=STRING,
                    applications={"type": "array", "items": ref("Application")},
                ),
            },
            revision=revision,
        ),
        "Bookmark": mark,
        "BookmarkGroups": closed(
            ["groups", "revision"],
            groups={
                "type": "array",
                "items": closed(
                    ["name", "bookmarks"],
                    name=STRING,
                    bookmarks={"type": "array", "items": ref("Bookmark")},
                ),
            },
            revision=revision,
        ),
        "Config": closed(
            ["config"],
            config=closed(
                ["version", "web", "realtime", "websocket"],
                version=STRING,
                web=closed(
                    [
                        "showGithubLink",
                        "checkForUpdates",
                        "title",
                        "refreshInterval",
                        "searchEngine",
                    ],
                    showGithubLink=BOOL,
                    checkForUpdates=BOOL,
                    title=STRING,
                    refreshInterval={**INT, "description": "seconds between polls without SSE"},
                    searchEngine=STRING,
                ),
                realtime=closed(
                    ["enabled", "heartbeatInterval"],
                    enabled=BOOL,
                    heartbeatInterval={**INT, "description": "milliseconds"},
                ),
                websocket=closed(
                    ["enabled"],
                    enabled={**BOOL, "description": "/api/ws/updates is served"},
                ),
            ),
        ),
        "ThemeColors": colors,
        "Theme": closed(["light", "dark"], light=ref("ThemeColors"), dark=ref("ThemeColors")),
        "Translations": {"type": "object", "description": "the raw bundle: nested strings"},
        "Diagnostics": closed(
            ["objects"],
            objects={
                "type": "array",
                "items": closed(
                    [
                        "source",
                        "kind",
                        "namespace",
                        "name",
                        "verdict",
                        "reason",
                        "notes",
                        "urls",
                        "items",
                    ],
                    source={"type": ["string", "null"]},
                    kind=STRING,
                    namespace=STRING,
                    name=STRING,
                    verdict={"enum": [v.value for v in Verdict]},
                    reason={"type": ["string", "null"]},
                    notes={"type": "array", "items": STRING},
                    urls={"type": "array", "items": STRING},
                    items={"type": "array", "items": STRING},
                    cluster=STRING,
                ),
            },
        ),
        "Sources": {
            "type": "object",
            "description": "watch or listing health, as the runtime reports it",
            "properties": {
                "watching": BOOL,
                "ready": BOOL,
                "leaderElection": {
                    "type": "object",
                    "description": "present when several replicas elect a leader",
                    "properties": {
                        "lease": STRING,
                        "identity": STRING,
                        "holder": {"type": ["string", "null"]},
                        "role": {"enum": ["leader", "follower", "alone"]},
                    },
                },
                "clusters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": STRING,
                            "kind": {"enum": ["local", "kubeconfig", "remote"]},
                            "state": {"enum": ["syncing", "synced", "stale", "unusable"]},
                            "synced": BOOL,
                            "lastContact": {"type": ["string", "null"]},
                            "staleSince": {"type": ["string", "null"]},
                            "error": {"type": ["string", "null"]},
                        },
                    },
                },
                "sources": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "cluster": {"type": ["string", "null"]},
                            "source": STRING,
                            "kind": STRING,
                            "namespace": {"type": ["string", "null"]},
                            "state": {
                                "enum": ["syncing", "synced", "reconnecting", "absent", "forbidden"]
                            },
                            "lastError": {
                                "type": ["string", "null"],
                                "description": "a category such as `403 Forbidden` or "
                                "`ConnectError`; the full text is in the log",
                            },
                        },
                    },
                },
                "manifests": {
                    "type": "string",
                    "description": "with --manifests: the directory's own name, not its path",
                },
                "errors": {
                    "type": "object",
                    "description": "with --manifests: file (relative) -> what is wrong with it",
                    "additionalProperties": STRING,
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": STRING, "sources": ref("Sources")},
        },
        "ItemKey": closed(
            ["key", "name", "group", "namespace", "resourceName"],
            key=STRING,
            name=STRING,
            group=STRING,
            namespace=STRING,
            resourceName=STRING,
            **_cluster_properties(),
        ),
        "Heartbeat": closed(
            ["timestamp", "revision"],
            timestamp={**INT, "description": "unix time, milliseconds"},
            revision={**INT, "description": "the store revision now"},
        ),
        "Resync": closed(["revision"], revision=INT),
        "StreamEvent": {
            "description": "the `data:` of one SSE event; `event:` repeats `type`",
            "oneOf": [
                closed(
                    ["type", "timestamp", "data"],
                    type={"const": event_type},
                    timestamp=TIMESTAMP,
                    data=ref(data),
                )
                for event_type, data in CHANGE_TYPES.items()
            ],
        },
    }


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
