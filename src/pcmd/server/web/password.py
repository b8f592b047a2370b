"""The signed-in user's own password (Đổi mật khẩu): after a temporary password from an
administrator every page leads here first (server/web/base.py); any user may come to change it.
A new password ends every session of the user, so it signs in again with it."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError, PcmdError
from pcmd.server.accounts import Scope, change_own_password
from pcmd.server.web.base import OWN_PASSWORD_PATH, Web


class PasswordPage:
    def __init__(self, web: Web) -> None:
        self.web = web

    def _show(self, request: Request, user: Scope, error: str = "", status: int = 200) -> Response:
        response = self.web.render(
            request, "password.html", {"user": user, "nav": "password", "error": error}, status
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def page(self, request: Request, user: Scope) -> Response:
        return self._show(request, user)

    async def change(self, request: Request, user: Scope) -> Response:
        form = await self.web.check_csrf(request)
        new = str(form.get("password", ""))
        if new != str(form.get("password2", "")):
            return self._show(
                request,
                user,
                "Hai lần nhập mật khẩu mới không giống nhau (the two new passwords differ).",
                400,
            )

        def change() -> None:
            with transaction(self.web.engine, write=True) as session:
                change_own_password(session, user.user_id, str(form.get("current", "")), new)

        try:
            await run_in_threadpool(change)
        except AuthError:
            raise
        except PcmdError as exc:
            return self._show(request, user, exc.message, 400)
        request.session.pop("sid", None)
        request.session["flash"] = (
            "Đã đổi mật khẩu; hãy đăng nhập bằng mật khẩu mới (password changed: sign in with "
            "the new one)."
        )
        return RedirectResponse("/login", status_code=303)

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route(OWN_PASSWORD_PATH, g(self.page)),
            Route(OWN_PASSWORD_PATH, g(self.change), methods=["POST"]),
        ]
