"""The web users page (Tài khoản) for administrators: list, create with a temporary password,
change a user's role and units, new temporary password, disable and enable — within the
administrator's provinces.

Every check is server-side in server/manage.py; an account outside the administrator's reach is
a 404, a role above its own a 403. A temporary password is shown once, in the answer to the
POST that made it (never kept in the session cookie, answered with no-store).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError, PcmdError
from pcmd.server import manage
from pcmd.server.accounts import Scope
from pcmd.server.audit import provinces_of
from pcmd.server.audit_read import ROLE_WORDS
from pcmd.server.manage import NotManaged
from pcmd.server.web.base import NotVisible, Web

T = TypeVar("T")


def chosen_province(web: Web, request: Request, user: Scope, sent: str = "") -> str:
    """The province the page works on: the one asked for, else the administrator's first."""
    wanted = sent or request.query_params.get("province", "")
    with transaction(web.engine) as session:
        choices = [code for code, _ in manage.provinces(session, user)]
    if wanted in choices:
        return wanted
    return choices[0] if choices else ""


def picker_context(web: Web, user: Scope, province: str) -> dict[str, Any]:
    """Provinces to choose from and the chosen province's communes (the commune picker)."""
    with transaction(web.engine) as session:
        provinces = manage.provinces(session, user)
        communes = manage.communes(session, user, province) if province else []
    return {"provinces": provinces, "province": province, "communes": communes}


async def apply_change(request: Request, work: Callable[[], T]) -> T | None:
    """An account change run in the thread pool. An account or unit outside the
    administrator's reach is a 404 and a refused right a 403, as raised; a change the form
    got wrong is said on the next page (None is returned, nothing was written)."""
    try:
        return await run_in_threadpool(work)
    except NotManaged:
        raise NotVisible from None
    except PcmdError as exc:
        if isinstance(exc, AuthError):
            raise
        request.session["flash_error"] = exc.message
        return None


class UserPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def _context(self, user: Scope, province: str) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            users = manage.list_users(session, user)
        return {
            "users": users,
            "roles": manage.grantable_roles(user),
            "role_words": ROLE_WORDS,
            **picker_context(self.web, user, province),
        }

    async def _page(
        self, request: Request, user: Scope, extra: dict[str, Any] | None = None
    ) -> Response:
        province = await run_in_threadpool(chosen_province, self.web, request, user)
        data = await run_in_threadpool(self._context, user, province)
        response = self.web.render(
            request, "users.html", {"user": user, "nav": "accounts", **data, **(extra or {})}
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def page(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        return await self._page(request, user)

    async def create(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        form = await self.web.check_csrf(request)
        province = str(form.get("province", ""))
        communes = [str(c) for c in (await request.form()).getlist("commune")]

        def create() -> tuple[str, str]:
            with transaction(self.web.engine, write=True) as session:
                created, password = manage.create_web_user(
                    session,
                    user,
                    str(form.get("username", "")),
                    str(form.get("role", "")),
                    province,
                    communes,
                    display_name=str(form.get("display_name", "")),
                )
                return created.username, password

        made = await apply_change(request, create)
        if made is None:
            return RedirectResponse(f"/users?province={province}", status_code=303)
        name, password = made
        return await self._page(
            request, user, {"shown": {"username": name, "password": password, "new": True}}
        )

    async def access_page(self, request: Request, user: Scope) -> Response:
        """One user's role and units, to change (a commune officer moved, a reviewer made an
        officer of some communes …)."""
        manage.require_admin(user)
        user_id = int(request.path_params["uid"])

        def context() -> dict[str, Any]:
            with transaction(self.web.engine) as session:
                target = manage.current_access(session, user, user_id)
                mine = {c for c, _ in manage.provinces(session, user)}
                theirs = sorted(provinces_of(session, target.org_codes) & mine)
            # the user's own province first; another one of the administrator's if asked for
            province = chosen_province(self.web, request, user, "")
            if "province" not in request.query_params and theirs:
                province = theirs[0]
            return {
                "target": target,
                "roles": manage.grantable_roles(user),
                "role_words": ROLE_WORDS,
                "picked": list(target.org_codes),
                **picker_context(self.web, user, province),
            }

        try:
            data = await run_in_threadpool(context)
        except NotManaged:
            raise NotVisible from None
        response = self.web.render(
            request, "user_access.html", {"user": user, "nav": "accounts", **data}
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def access(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        form = await self.web.check_csrf(request)
        user_id = int(request.path_params["uid"])
        province = str(form.get("province", ""))
        communes = [str(c) for c in (await request.form()).getlist("commune")]

        def apply() -> str:
            with transaction(self.web.engine, write=True) as session:
                return manage.change_access(
                    session, user, user_id, str(form.get("role", "")), province, communes
                )

        name = await apply_change(request, apply)
        if name is None:
            return RedirectResponse(f"/users/{user_id}?province={province}", status_code=303)
        request.session["flash"] = (
            f"Đã đổi vai trò, đơn vị của {name}; người dùng đăng nhập lại để dùng quyền mới "
            f"(role and units of {name} changed; the user signs in again)."
        )
        return RedirectResponse("/users", status_code=303)

    async def password(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        await self.web.check_csrf(request)
        user_id = int(request.path_params["uid"])

        def reset() -> tuple[str, str]:
            with transaction(self.web.engine, write=True) as session:
                return manage.reset_password(session, user, user_id)

        try:
            name, password = await run_in_threadpool(reset)
        except NotManaged:
            raise NotVisible from None
        return await self._page(
            request, user, {"shown": {"username": name, "password": password, "new": False}}
        )

    async def disable(self, request: Request, user: Scope) -> Response:
        return await self._set_disabled(request, user, True)

    async def enable(self, request: Request, user: Scope) -> Response:
        return await self._set_disabled(request, user, False)

    async def _set_disabled(self, request: Request, user: Scope, disabled: bool) -> Response:
        manage.require_admin(user)
        await self.web.check_csrf(request)
        user_id = int(request.path_params["uid"])

        def apply() -> str:
            with transaction(self.web.engine, write=True) as session:
                return manage.set_disabled(session, user, user_id, disabled)

        name = await apply_change(request, apply)
        if name is not None:
            request.session["flash"] = (
                f"Đã khoá {name} (disabled)." if disabled else f"Đã mở khoá {name} (enabled)."
            )
        return RedirectResponse("/users", status_code=303)

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route("/users", g(self.page)),
            Route("/users", g(self.create), methods=["POST"]),
            Route("/users/{uid:int}", g(self.access_page)),
            Route("/users/{uid:int}/access", g(self.access), methods=["POST"]),
            Route("/users/{uid:int}/password", g(self.password), methods=["POST"]),
            Route("/users/{uid:int}/disable", g(self.disable), methods=["POST"]),
            Route("/users/{uid:int}/enable", g(self.enable), methods=["POST"]),
        ]
