"""The submission endpoint's own lane through the app: what phones send most (HEAD, then POST of
…/submission, a pair a submission) is handed to its handler by the outermost of pcmd's
middleware, without the layers below it and the router.

Those layers cost a submission about a seventh of the server's CPU at concurrency 8 (each wraps
the request and every message sent back), and none has work to do here: the lane does what
they would do for these two requests and the same answer goes out — the security headers
(headers.py), a NUL in the address refused (left to hygiene.py's answer), a database busy
past its wait answered 503 (busy.py); a phone's token is its credential, so there is no
session cookie to read or set. Anything else, and any other address or method, goes down the
stack as before; Starlette's outermost error handler still answers an unexpected error 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pcmd.server.busy import BUSY_ERRORS, busy_database, is_busy
from pcmd.server.headers import SecurityHeaders
from pcmd.server.openrosa.endpoint import PREFIX
from pcmd.server.openrosa.submission import SubmissionEndpoints

Handler = Callable[[Request], Awaitable[Response]]


class SubmissionLane:
    def __init__(self, app: ASGIApp, *, submissions: SubmissionEndpoints, https: bool) -> None:
        self.app = app
        # compiled as the router compiles the routes (after convertors.register())
        self.path, _format, self.convertors = compile_path(f"{PREFIX}/submission")
        self.handlers: dict[str, Handler] = {
            "HEAD": submissions.submission_head,
            "GET": submissions.submission_head,
            "POST": submissions.submission,
        }
        common = SecurityHeaders(app, https=https).common
        # what SecurityHeaders adds to a response that is not a page and has no policy of its
        # own: every answer of these handlers (text/xml, or no body)
        self.security = [
            *((name.lower().encode(), value.encode()) for name, value in common.items()),
            (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope.get("method", "")) if scope["type"] == "http" else None
        match = self.path.match(scope["path"]) if handler and not scope.get("root_path") else None
        query: bytes = scope.get("query_string", b"")
        if (
            match is None
            or handler is None
            or "\x00" in scope["path"]
            or b"%00" in query
            or b"\x00" in query
        ):
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {
            name: self.convertors[name].convert(value) for name, value in match.groupdict().items()
        }
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except BUSY_ERRORS as exc:
            if not is_busy(exc):
                raise
            response = await busy_database(request, exc)
        security = self.security

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *security]
            await send(message)

        await response(scope, receive, with_headers)
