"""Who is reading: a Central-style bearer token (`POST /v1/sessions`), HTTP Basic with a pcmd
web user's name and password, or the web page's own signed-in session — resolved to the user's
Scope (role and org units). Also what every endpoint here shares: the JSON error boundary,
the form and project look-ups, and the communes a reader may see.

Tokens are web sessions (server/sessions.py): only their sha256 is stored, and they end at
sign-out, after the idle time, 12 hours after sign-in, when the user is disabled or their
password changes. A wrong Basic password counts toward the same sign-in throttles as the web
login page (server/accounts.py), so guessing through the API is no faster than through it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from functools import cache

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, Form, OrgUnit, WebUser, utcnow
from pcmd.errors import AuthError
from pcmd.server.accounts import Scope, scope_of
from pcmd.server.central import problems
from pcmd.server.central.problems import Problem
from pcmd.server.passwords import hash_password, verify_password
from pcmd.server.signin import LoginThrottled, check_throttle, session_scope
from pcmd.settings import Settings

log = logging.getLogger(__name__)
Handler = Callable[[Request, Scope], Awaitable[Response]]
PROJECT_ID = 1  # pcmd has one project, like DESIGN §9's default


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


class BasicFailed(Problem):
    """Wrong Basic credentials; `username` is what the failure is recorded under."""

    def __init__(self, username: str) -> None:
        failed = problems.unauthenticated()
        super().__init__(failed.code, failed.message)
        self.username = username


def check_basic(session: Session, header: str, client: str) -> Scope:
    """The scope of an `Authorization: Basic …` header; BasicFailed when it names no usable
    user or a wrong password (the caller records it, in a write transaction of its own, so a
    right password never holds the database's write lock)."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
        username, password = decoded.split(":", 1)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise problems.unauthenticated() from None
    username = unicodedata.normalize("NFC", username.strip())[:100].replace("\x00", "\ufffd")
    check_throttle(session, username, client, utcnow())
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    usable = user is not None and user.disabled_at is None
    checked = user.password_hash if user is not None and usable else _dummy_hash()
    if not verify_password(checked, password) or user is None or not usable:
        raise BasicFailed(username)
    return scope_of(session, user)


class Central:
    """The shared plumbing of the Central-compatible endpoints, bound to one app."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.idle = dt.timedelta(hours=settings.session_idle_hours)

    def _token(self, token: str) -> Scope | None:
        return session_scope(self.engine, token, self.idle)

    def caller(self, request: Request) -> Scope:
        """The reader's scope, or a Problem (401) when no credentials, or wrong ones, came."""
        header = request.headers.get("authorization", "")
        kind = header.split(" ", 1)[0].lower()
        if kind == "bearer":
            scope = self._token(header.split(" ", 1)[1].strip() if " " in header else "")
            if scope is None:
                raise problems.unauthenticated()
            return scope
        if kind == "basic":
            client = client_of(request)
            try:
                with transaction(self.engine) as session:
                    return check_basic(session, header, client)
            except BasicFailed as failed:
                with transaction(self.engine, write=True) as session:
                    session.add(
                        AuditLog(
                            actor=f"web:{client}", action="login.failed", target=failed.username
                        )
                    )
                raise
        sid = request.session.get("sid") if "session" in request.scope else None
        if isinstance(sid, str):
            scope = self._token(sid)
            if scope is not None:
                return scope
        raise problems.unauthenticated()

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """The reader authenticated, then the handler; a Problem or AuthError becomes
        Central's JSON error, never a page or a traceback."""

        async def run(request: Request) -> Response:
            try:
                scope = await run_in_threadpool(self.caller, request)
                return await handler(request, scope)
            except LoginThrottled as exc:
                problem = Problem(429.1, exc.message)
                return problems.response(problem, {"Retry-After": str(exc.retry_after)})
            except Problem as exc:
                headers = {"WWW-Authenticate": 'Basic realm="pcmd"'} if exc.status == 401 else None
                return problems.response(exc, headers)
            except AuthError as exc:
                return problems.response(Problem(float(exc.status) + 0.1, exc.message))

        return run

    # --- look-ups shared by the resources -----------------------------------------------
    @staticmethod
    def project(project_id: int) -> None:
        if project_id != PROJECT_ID:
            raise problems.not_found()

    @staticmethod
    def form(session: Session, project_id: int, form_id: str) -> Form:
        """A published form of the project, or 404."""
        Central.project(project_id)
        form = session.scalar(
            select(Form).where(
                Form.form_id == form_id,
                Form.project_id == project_id,
                Form.current_version_id.is_not(None),
            )
        )
        if form is None:
            raise problems.not_found()
        return form

    @staticmethod
    def communes(session: Session, scope: Scope) -> list[str] | None:
        """Commune codes the reader may see; None = every commune (and records without one)."""
        if scope.everywhere:
            return None
        rows = session.scalars(
            select(OrgUnit.code).where(
                OrgUnit.level == "commune",
                OrgUnit.code.in_(scope.org_codes) | OrgUnit.parent_code.in_(scope.org_codes),
            )
        )
        return sorted(set(rows))
