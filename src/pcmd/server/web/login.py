"""Sign-in and sign-out, the page language, and the home page that sends a visitor on (to the
first-run page while the installation has no web user: server/web/firstrun.py).

Signing in starts a server-side session (server/sessions.py) whose token the cookie carries;
signing out ends it on the server, so a copy of the cookie opens nothing afterwards. Repeated
failures are answered 429 with Retry-After (server/accounts.py keeps the throttles).
"""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError
from pcmd.server.firstrun import has_users
from pcmd.server.sessions import end_session, start_session
from pcmd.server.signin import LoginThrottled, login
from pcmd.server.web import i18n
from pcmd.server.web.base import Web


class LoginPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def _no_users(self) -> bool:
        with transaction(self.web.engine) as session:
            return not has_users(session)

    async def login_page(self, request: Request) -> Response:
        if await run_in_threadpool(self._no_users):
            return RedirectResponse("/first-run", status_code=303)  # nobody could sign in
        nxt = request.query_params.get("next", "/")
        return self.web.render(request, "login.html", {"user": None, "next": nxt, "username": ""})

    async def login_submit(self, request: Request) -> Response:
        try:
            form = await self.web.check_csrf(request)
        except AuthError as exc:
            return self.web.render(
                request,
                "login.html",
                {"user": None, "next": "/", "username": "", "error": exc.message},
                403,
            )
        username = str(form.get("username", ""))
        nxt = str(form.get("next", "/"))
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"  # never redirect off-site after sign-in
        client = request.client.host if request.client else ""

        def check() -> str | None:
            with transaction(self.web.engine, write=True) as session:
                scope = login(session, username, str(form.get("password", "")), client=client)
                return start_session(session, scope.user_id, client=client) if scope else None

        try:
            token = await run_in_threadpool(check)
        except AuthError as exc:
            response = self.web.render(
                request,
                "login.html",
                {"user": None, "next": nxt, "username": username, "error": exc.message},
                exc.status,
            )
            if isinstance(exc, LoginThrottled):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if token is None:
            message = "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)."
            return self.web.render(
                request,
                "login.html",
                {"user": None, "next": nxt, "username": username, "error": message},
                401,
            )
        lang = self.web.lang(request)
        request.session.clear()
        request.session.update({"sid": token, "lang": lang, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse(nxt, status_code=303)

    async def logout(self, request: Request) -> Response:
        try:
            await self.web.check_csrf(request)
        except AuthError:
            return RedirectResponse("/", status_code=303)
        token = request.session.get("sid")
        if isinstance(token, str):

            def end() -> None:
                with transaction(self.web.engine, write=True) as session:
                    end_session(session, token)

            await run_in_threadpool(end)  # a copy of the cookie opens nothing any more
        lang = self.web.lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return RedirectResponse("/login", status_code=303)

    async def set_lang(self, request: Request) -> Response:
        to = request.query_params.get("to", "vi")
        request.session["lang"] = to if to in i18n.LANGS else "vi"
        nxt = request.query_params.get("next", "/")
        return RedirectResponse(
            nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status_code=303
        )

    async def home(self, request: Request) -> Response:
        user = await run_in_threadpool(self.web.user, request)
        if user is None and await run_in_threadpool(self._no_users):
            return RedirectResponse("/first-run", status_code=303)
        return RedirectResponse("/dashboard" if user else "/login", status_code=303)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login_submit, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang", self.set_lang),
        ]
