"""Central's session API: `POST /v1/sessions` with `{"email", "password"}` (a pcmd web user
signs in by user name in `email`) answers `{"token", "expiresAt", "createdAt"}`; the token is
then sent as `Authorization: Bearer …`. `DELETE /v1/sessions/{token}` ends it, and
`GET /v1/users/current` says who the token belongs to (pyodk checks a cached token with it).

Tokens are server-side web sessions (server/sessions.py, only their hash stored); sign-ins go
through the web login's throttles and audit log (server/accounts.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import WebSession, WebUser, utcnow
from pcmd.server.accounts import Scope
from pcmd.server.central import problems
from pcmd.server.central.auth import Central, client_of
from pcmd.server.central.odata_rows import central_time
from pcmd.server.central.problems import Problem
from pcmd.server.sessions import LIFETIME, end_session, find_session, start_session, token_hash
from pcmd.server.signin import LoginThrottled, login

MAX_BODY = 10_000


class SessionEndpoints:
    def __init__(self, central: Central) -> None:
        self.central = central

    async def create(self, request: Request) -> Response:
        body = await request.body()
        try:
            sent = json.loads(body) if len(body) <= MAX_BODY else None
        except (ValueError, UnicodeDecodeError):
            sent = None
        if not isinstance(sent, dict):
            return problems.response(
                Problem(
                    400.1,
                    "Không đọc được dữ liệu gửi lên (could not parse the given data): send JSON "
                    '{"email": "<tên đăng nhập / user name>", "password": "…"}.',
                )
            )
        email, password = sent.get("email"), sent.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email:
            return problems.response(
                Problem(
                    400.3,
                    "Thiếu email (tên đăng nhập) hoặc password (required parameters missing: "
                    "email — your pcmd user name — and password).",
                )
            )
        client = client_of(request)

        def check() -> dict[str, Any] | None:
            with transaction(self.central.engine, write=True) as session:
                scope = login(session, email, password, client=client)
                if scope is None:
                    return None
                token = start_session(session, scope.user_id, client=f"api:{client}")
                created = session.scalar(
                    select(WebSession.created_at).where(WebSession.token_hash == token_hash(token))
                )
            created = created or utcnow()
            return {
                "createdAt": central_time(created),
                "expiresAt": central_time(created + LIFETIME),
                "token": token,
            }

        try:
            answer = await run_in_threadpool(check)
        except LoginThrottled as exc:
            return problems.response(
                Problem(429.1, exc.message), {"Retry-After": str(exc.retry_after)}
            )
        if answer is None:
            return problems.response(problems.unauthenticated())
        return JSONResponse(answer)

    async def delete(self, request: Request) -> Response:
        sent: str = request.path_params["token"]
        header = request.headers.get("authorization", "")
        if sent == "current":  # the token the request is made with
            sent = header.split(" ", 1)[1].strip() if header.lower().startswith("bearer ") else ""
        token = sent

        def end() -> bool:
            with transaction(self.central.engine, write=True) as session:
                live = find_session(session, token, idle=self.central.idle) if token else None
                return live is not None and end_session(session, token)

        if not await run_in_threadpool(end):
            return problems.response(problems.not_found())
        return JSONResponse({"success": True})

    async def current(self, _request: Request, scope: Scope) -> Response:
        def load() -> dict[str, Any]:
            with transaction(self.central.engine) as session:
                user = session.get(WebUser, scope.user_id)
                assert user is not None
                return {
                    "id": user.id,
                    "type": "user",
                    "displayName": user.display_name or user.username,
                    "email": user.username,
                    "createdAt": central_time(user.created_at),
                    "updatedAt": None,
                    "deletedAt": None,
                }

        return JSONResponse(await run_in_threadpool(load))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/sessions", self.create, methods=["POST"]),
            Route("/v1/sessions/{token}", self.delete, methods=["DELETE"]),
            Route("/v1/users/current", self.central.endpoint(self.current), methods=["GET"]),
        ]
