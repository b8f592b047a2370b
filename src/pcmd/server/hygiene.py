"""Requests no client of pcmd sends: a NUL character in the path or the query string. A
database cannot hold NUL in text (PostgreSQL refuses it), and no form, page or phone writes
one, so such a request is answered 400 before any handler sees it."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MESSAGE = "Địa chỉ chứa ký tự NUL (the address contains a NUL character)."


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                await PlainTextResponse(MESSAGE, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
