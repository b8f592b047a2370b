"""The app users page (data collectors' phones) for administrators: list, create with the
commune picker, one app user's page with its Collect QR code, revoke — within the
administrator's provinces (server/manage.py checks every request).

The QR code holds the app user's credential: it is served as a PNG with no-store, rebuilt from
the secret key, as `pcmd appuser qr` writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import AppUser, OrgUnit
from pcmd.server import manage
from pcmd.server.accounts import Scope
from pcmd.server.keys import secret_key
from pcmd.server.manage import NotManaged
from pcmd.server.openrosa import appusers
from pcmd.server.web.base import NotVisible, Web
from pcmd.server.web.users import apply_change, chosen_province, picker_context
from pcmd.server.webforms.volunteer import web_url


class AppUserPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def _names(self, codes: set[str]) -> dict[str, str]:
        if not codes:
            return {}
        with transaction(self.web.engine) as session:
            rows = session.execute(
                select(OrgUnit.code, OrgUnit.name).where(
                    OrgUnit.code.in_(codes), OrgUnit.valid_to.is_(None)
                )
            )
            return {str(row[0]): str(row[1]) for row in rows}

    def _list(self, user: Scope) -> list[AppUser]:
        with transaction(self.web.engine) as session:
            found = manage.list_app_users(session, user)
            session.expunge_all()
        return found

    async def page(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        province = await run_in_threadpool(chosen_province, self.web, request, user)
        listed = await run_in_threadpool(self._list, user)
        names = await run_in_threadpool(self._names, {c for u in listed for c in u.commune_codes})
        picker = await run_in_threadpool(picker_context, self.web, user, province)
        return self.web.render(
            request,
            "appusers.html",
            {"user": user, "nav": "accounts", "app_users": listed, "names": names, **picker},
        )

    def _one(self, user: Scope, app_user_id: int) -> AppUser:
        with transaction(self.web.engine) as session:
            try:
                found = manage.managed_app_user(session, user, app_user_id)
            except NotManaged:
                raise NotVisible from None
            session.expunge(found)
        return found

    async def detail(self, request: Request, user: Scope) -> Response:
        """One app user: its communes, its QR code while active (room for its web forms link)."""
        manage.require_admin(user)
        found = await run_in_threadpool(self._one, user, int(request.path_params["aid"]))
        names = await run_in_threadpool(self._names, set(found.commune_codes))
        context: dict[str, Any] = {"user": user, "nav": "accounts", "app_user": found}
        if found.revoked_at is None:  # the page of its web forms, for a phone browser
            token = appusers.token_for(found, secret_key(self.web.settings))
            context["web_url"] = web_url(self.web.settings.base_url, token, found.project_id)
        response = self.web.render(request, "appuser.html", {**context, "names": names})
        response.headers["Cache-Control"] = "no-store"
        return response

    async def create(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        form = await self.web.check_csrf(request)
        province = str(form.get("province", ""))
        communes = [str(c) for c in (await request.form()).getlist("commune")]

        def create() -> int:
            with transaction(self.web.engine, write=True) as session:
                created = manage.create_app_user(
                    session,
                    user,
                    str(form.get("name", "")),
                    province,
                    communes,
                    secret_key(self.web.settings),
                )
                return created.id

        created_id = await apply_change(request, create)
        if created_id is None:
            return RedirectResponse(f"/appusers?province={province}", status_code=303)
        request.session["flash"] = (
            "Đã tạo tài khoản. Quét mã QR bằng ODK Collect (app user created: scan the QR code "
            "with ODK Collect)."
        )
        return RedirectResponse(f"/appusers/{created_id}", status_code=303)

    async def revoke(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        await self.web.check_csrf(request)
        app_user_id = int(request.path_params["aid"])

        def revoke() -> str:
            with transaction(self.web.engine, write=True) as session:
                return manage.revoke_app_user(session, user, app_user_id)

        try:
            name = await run_in_threadpool(revoke)
        except NotManaged:
            raise NotVisible from None
        request.session["flash"] = (
            f"Đã thu hồi {name}: điện thoại dùng mã này không gửi được nữa (revoked: phones "
            "set up with its code are refused from now on)."
        )
        return RedirectResponse("/appusers", status_code=303)

    async def qr(self, request: Request, user: Scope) -> Response:
        """The Collect QR code of an active app user, rebuilt from the secret key."""
        base = self.web.settings.base_url

        def picture(session: Session, found: AppUser, token: str) -> bytes:
            url = appusers.server_url(base, token, found.project_id)
            config = appusers.collect_settings(url, appusers.project_name(session, found))
            return appusers.qr_png(appusers.qr_payload(config))

        return await self._credential_qr(request, user, picture)

    async def web_qr(self, request: Request, user: Scope) -> Response:
        """A QR code of the app user's web-forms link (`web_url`): a phone's camera opens it."""
        base = self.web.settings.base_url

        def picture(_session: Session, found: AppUser, token: str) -> bytes:
            return appusers.qr_png(web_url(base, token, found.project_id))

        return await self._credential_qr(request, user, picture)

    async def _credential_qr(
        self,
        request: Request,
        user: Scope,
        picture: Callable[[Session, AppUser, str], bytes],
    ) -> Response:
        """A QR code `picture` draws from an active app user in the administrator's reach and
        its token; 404 for any other."""
        manage.require_admin(user)
        app_user_id = int(request.path_params["aid"])

        def build() -> bytes:
            with transaction(self.web.engine) as session:
                try:
                    found = manage.managed_app_user(session, user, app_user_id)
                except NotManaged:
                    raise NotVisible from None
                if found.revoked_at is not None:
                    raise NotVisible
                token = appusers.token_for(found, secret_key(self.web.settings))
                return picture(session, found, token)

        png = await run_in_threadpool(build)
        # the picture holds a credential: never cache it anywhere
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route("/appusers", g(self.page)),
            Route("/appusers", g(self.create), methods=["POST"]),
            Route("/appusers/{aid:int}", g(self.detail)),
            Route("/appusers/{aid:int}/revoke", g(self.revoke), methods=["POST"]),
            Route("/appusers/{aid:int}/qr.png", g(self.qr)),
            Route("/appusers/{aid:int}/web-qr.png", g(self.web_qr)),
        ]
