"""A pure-ASGI middleware that adds `X-Content-Type-Options: nosniff` to every response.

JSON bodies echo text from cluster objects; without the header an old browser could be talked
into reading one as HTML. Pure ASGI, so a long-lived event stream passes through untouched apart
from its first message.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NAME = b"x-content-type-options"
VALUE = b"nosniff"


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == NAME for name, _ in headers):
                    message = {**message, "headers": [*headers, (NAME, VALUE)]}
            await send(message)

        await self.app(scope, receive, add)
