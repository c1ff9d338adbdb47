"""Reads a running server's event stream in a thread, for end-to-end tests.

Understands both wire forms: named events (`event: TYPE`) and plain `data:` messages whose
envelope names its type.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Received:
    type: str
    id: str | None
    data: Any


class StreamReader:
    """`with StreamReader(url) as events: ... events.matching(...)`."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.events: list[Received] = []
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=120.0))
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> StreamReader:
        self._thread.start()
        assert self.opened.wait(20), "the event stream did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()
        self._thread.join(10)

    def _read(self) -> None:
        name: str | None = None
        event_id: str | None = None
        data: list[str] = []
        with (
            contextlib.suppress(httpx.HTTPError, RuntimeError, ValueError),
            self._client.stream("GET", self.url, headers=self.headers) as response,
        ):
            self.opened.set()
            for line in response.iter_lines():
                if line:
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "data":
                        data.append(value)
                    elif field == "event":
                        name = value
                    elif field == "id":
                        event_id = value
                    continue
                if data:
                    envelope = json.loads("\n".join(data))
                    kind = name or envelope.get("type")
                    with self._lock:
                        self.events.append(Received(kind, event_id, envelope.get("data")))
                name, event_id, data = None, None, []

    def matching(self, type_: str, **fields: Any) -> list[Received]:
        """The events of `type_` whose data has every given field with the given value."""
        with self._lock:
            events = list(self.events)
        return [
            e
            for e in events
            if e.type == type_
            and isinstance(e.data, dict)
            and all(e.data.get(k) == v for k, v in fields.items())
        ]
