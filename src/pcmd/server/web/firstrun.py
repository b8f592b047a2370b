"""The first-run page: on an installation with no web user, `/` and `/login` lead here, where
the one-time set-up code from the server's console creates the first administrator, who is
then signed in. The code is issued and logged once when the server starts (`announce_code`,
called from the app's lifespan, or by `pcmd serve` itself when it starts several worker
processes); server/firstrun.py keeps and checks it.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError, PcmdError
from pcmd.server.firstrun import AlreadySetUp, create_first_admin, has_users, issue_code
from pcmd.server.sessions import start_session
from pcmd.server.signin import LoginThrottled
from pcmd.server.web.base import Web

log = logging.getLogger(__name__)

WRONG_CODE = {
    "vi": "Mã cài đặt không đúng. Hãy nhập lại đúng mã in trong cửa sổ máy chủ.",
    "en": "That set-up code is not right. Type the code printed in the server's window again.",
}


def announce_code(engine: Engine, base_url: str) -> str | None:
    """With no web user, a new set-up code, written once to the console and log. Called by the
    one process that starts the server (`pcmd serve` itself when it runs several workers, the
    app's lifespan when it runs one), so a console shows exactly one code."""
    try:
        with transaction(engine, write=True) as session:
            code = issue_code(session)
    except (SQLAlchemyError, PcmdError) as exc:  # no database yet: /healthz says so
        log.warning("no set-up code: the web users cannot be read (%s)", exc.__class__.__name__)
        return None
    if code is not None:
        log.warning(
            "Chưa có người dùng web nào. Mã cài đặt (set-up code), dùng một lần: %s — mở "
            "%s/ trong trình duyệt để tạo quản trị viên đầu tiên (no web user yet: open the "
            "address in a browser and create the first administrator with this one-time "
            "code).",
            code,
            base_url.rstrip("/"),
        )
    return code


class FirstRunPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def announce(self) -> str | None:
        """At start: with no web user, a new set-up code, written once to the console and log."""
        return announce_code(self.web.engine, self.web.settings.base_url)

    def needed(self) -> bool:
        """Whether the installation still has no web user."""
        with transaction(self.web.engine) as session:
            return not has_users(session)

    def _page(
        self, request: Request, status: int = 200, *, username: str = "", error: str = ""
    ) -> Response:
        context = {"user": None, "username": username, "error": error}
        return self.web.render(request, "firstrun.html", context, status)

    async def page(self, request: Request) -> Response:
        if not await run_in_threadpool(self.needed):
            return RedirectResponse("/login", status_code=303)
        return self._page(request)

    async def submit(self, request: Request) -> Response:
        try:
            form = await self.web.check_csrf(request)
        except AuthError as exc:
            return self._page(request, 403, error=exc.message)
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        if password != str(form.get("password2", "")):
            lang = self.web.lang(request)
            mismatch = (
                "Hai lần nhập mật khẩu không giống nhau."
                if lang == "vi"
                else "The two passwords are not the same."
            )
            return self._page(request, 400, username=username, error=mismatch)
        client = request.client.host if request.client else ""

        def create() -> str | None:
            with transaction(self.web.engine, write=True) as session:
                scope = create_first_admin(
                    session, str(form.get("code", "")), username, password, client=client
                )
                return start_session(session, scope.user_id, client=client) if scope else None

        try:
            token = await run_in_threadpool(create)
        except AlreadySetUp:
            return RedirectResponse("/login", status_code=303)
        except LoginThrottled as exc:
            response = self._page(request, 429, username=username, error=exc.message)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except PcmdError as exc:  # a name or a password create_user refuses
            return self._page(request, 400, username=username, error=exc.message)
        if token is None:
            error = WRONG_CODE[self.web.lang(request)]
            return self._page(request, 401, username=username, error=error)
        lang = self.web.lang(request)
        request.session.clear()
        request.session.update({"sid": token, "lang": lang, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse("/dashboard", status_code=303)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/first-run", self.page, methods=["GET"]),
            Route("/first-run", self.submit, methods=["POST"]),
        ]
