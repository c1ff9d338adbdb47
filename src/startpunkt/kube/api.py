"""A small asynchronous Kubernetes API client: JSON GETs, merge patches and watch streams.

Startpunkt mostly reads; it writes only its own objects' `.status`, its Lease and the
availability it publishes for other replicas. Errors keep the fields callers branch on (status,
reason, Retry-After) and never carry response bodies beyond the API server's own short message.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from startpunkt.model import ResourceKind

log = logging.getLogger(__name__)

JSONObject = dict[str, Any]


# Transport failures worth trying again: refused connections, resets, dead streams, timeouts.
TRANSIENT = (httpx.TransportError, httpx.StreamError, TimeoutError)

# Nesting kept from API objects. The API server accepts custom resources nested 10,000 deep
# where a schema preserves unknown fields (Istio's, for one), beyond what Python's parser and
# every recursive comparison after it can take; Startpunkt reads nothing that deep.
MAX_DEPTH = 100
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def loads(data: str | bytes) -> Any:
    """JSON, with values nested deeper than MAX_DEPTH replaced by null."""
    try:
        return json.loads(data)
    except RecursionError:
        text = data.decode() if isinstance(data, bytes) else data
        return json.loads(_pruned(text))


def _pruned(text: str) -> str:
    """`text` with every array or object that starts deeper than MAX_DEPTH cut to `null`;
    strings are skipped whole, so brackets inside them do not count. Iterative and linear."""
    parts: list[str] = []
    depth, cut_from, kept_to = 0, -1, 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1 and cut_from < 0:
                cut_from = token.start()
        elif char in "]}":
            if depth == MAX_DEPTH + 1 and cut_from >= 0:
                parts += [text[kept_to:cut_from], "null"]
                kept_to, cut_from = token.end(), -1
            depth -= 1
    parts.append(text[kept_to:])
    return "".join(parts)


class ApiError(Exception):
    def __init__(
        self, status: int, reason: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        return self.status == 410

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> ApiError:
        """From a `Status` object, as sent in a watch ERROR event."""
        return cls(
            int(status.get("code") or 500),
            str(status.get("reason") or "Error"),
            str(status.get("message") or "")[:500],
        )


async def _error(response: httpx.Response) -> ApiError:
    try:
        body = loads(await response.aread())
    except (ValueError, httpx.HTTPError):
        body = {}
    retry_after: float | None = None
    if value := response.headers.get("Retry-After"):
        try:
            retry_after = max(0.0, float(value))
        except ValueError:
            retry_after = None
    body = body if isinstance(body, dict) else {}
    return ApiError(
        response.status_code,
        str(body.get("reason") or response.reason_phrase),
        str(body.get("message") or "")[:500],
        retry_after,
    )


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.requests = 0  # every request sent, for the idle-cost benchmark and metrics

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> JSONObject:
        self.requests += 1
        response = await self._client.get(path, params=params)
        if response.status_code >= 400:
            raise await _error(response)
        body = loads(response.content)
        if not isinstance(body, dict):
            raise ApiError(502, "BadResponse", f"GET {path} did not return a JSON object")
        return body

    async def patch(
        self, path: str, body: Mapping[str, Any], field_manager: str | None = None
    ) -> JSONObject:
        """A JSON merge patch (only what is given changes; `None` removes a field)."""
        return await self._send("PATCH", path, body, "application/merge-patch+json", field_manager)

    async def create(
        self, path: str, body: Mapping[str, Any], field_manager: str | None = None
    ) -> JSONObject:
        """POST to a collection; 409 AlreadyExists when the name is taken."""
        return await self._send("POST", path, body, "application/json", field_manager)

    async def replace(
        self, path: str, body: Mapping[str, Any], field_manager: str | None = None
    ) -> JSONObject:
        """PUT of a whole object; with `metadata.resourceVersion` set, 409 Conflict when
        someone else changed it since (optimistic concurrency)."""
        return await self._send("PUT", path, body, "application/json", field_manager)

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        content_type: str,
        field_manager: str | None,
    ) -> JSONObject:
        self.requests += 1
        response = await self._client.request(
            method,
            path,
            content=json.dumps(body, separators=(",", ":")),
            headers={"Content-Type": content_type},
            params={"fieldManager": field_manager} if field_manager else None,
        )
        if response.status_code >= 400:
            raise await _error(response)
        result = loads(response.content)
        return result if isinstance(result, dict) else {}

    async def watch(
        self,
        path: str,
        params: Mapping[str, str | int],
        inactivity: float,
        opened: Callable[[], None] | None = None,
    ) -> AsyncIterator[JSONObject]:
        """The events of one watch request, until the server ends it.

        `inactivity` bounds the wait for every chunk, so a silently dead connection is noticed;
        `opened` is called once the server has accepted the request.
        """
        self.requests += 1
        timeout = httpx.Timeout(10.0, read=inactivity)
        async with self._client.stream("GET", path, params=params, timeout=timeout) as response:
            if response.status_code >= 400:
                raise await _error(response)
            if opened is not None:
                opened()
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                try:
                    event = loads(line)
                except ValueError as e:
                    raise ApiError(502, "BadResponse", "malformed watch event") from e
                if isinstance(event, dict):
                    yield event


def collection_path(kind: ResourceKind, namespace: str | None) -> str:
    base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    if namespace and kind.namespaced:
        return f"{base}/namespaces/{namespace}/{kind.plural}"
    return f"{base}/{kind.plural}"
