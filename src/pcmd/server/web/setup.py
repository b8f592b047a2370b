"""Field set-up pages (admins): app users with their Collect QR codes, forms and new versions."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import Form, FormVersion
from pcmd.errors import AuthError, PcmdError
from pcmd.forms.convert import convert_workbook
from pcmd.forms.registry import refresh_media, store_build
from pcmd.server.accounts import Scope
from pcmd.server.keys import secret_key
from pcmd.server.openrosa import appusers
from pcmd.server.web.base import NotVisible, Web

MAX_WORKBOOK = 10_000_000


class SetupPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    @staticmethod
    def admin_only(user: Scope) -> None:
        if not user.is_admin:
            raise AuthError("forbidden", status=403)

    def _context(self) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            users = appusers.list_app_users(session)
            forms = session.execute(
                select(Form.form_id, Form.title, Form.current_version_id).order_by(Form.form_id)
            ).all()
            versions = session.execute(
                select(
                    Form.form_id,
                    FormVersion.id,
                    FormVersion.version,
                    FormVersion.created_at,
                    FormVersion.xlsform_filename,
                )
                .join(Form, Form.id == FormVersion.form_pk)
                .order_by(Form.form_id, FormVersion.id.desc())
            ).all()
        by_form: dict[str, list[Any]] = {}
        for row in versions:
            by_form.setdefault(row.form_id, []).append(row)
        return {"app_users": users, "forms": forms, "versions": by_form}

    async def page(self, request: Request, user: Scope) -> Response:
        self.admin_only(user)
        data = await run_in_threadpool(self._context)
        shown = request.session.pop("new_app_user", None)
        return self.web.render(
            request, "setup.html", {"user": user, "nav": "setup", "new_app_user": shown, **data}
        )

    async def create_app_user(self, request: Request, user: Scope) -> Response:
        self.admin_only(user)
        form = await self.web.check_csrf(request)
        name = str(form.get("name", ""))
        communes = [c.strip() for c in str(form.get("communes", "")).replace(";", ",").split(",")]

        def create() -> str:
            with transaction(self.web.engine, write=True) as session:
                created, _token = appusers.create_app_user(
                    session,
                    name,
                    [c for c in communes if c],
                    secret_key(self.web.settings),
                    actor=f"user:{user.username}",
                )
                return created.name

        try:
            created_name = await run_in_threadpool(create)
        except PcmdError as exc:
            request.session["flash_error"] = exc.message
            return RedirectResponse("/setup", status_code=303)
        request.session["new_app_user"] = created_name
        return RedirectResponse("/setup", status_code=303)

    async def revoke(self, request: Request, user: Scope) -> Response:
        self.admin_only(user)
        await self.web.check_csrf(request)
        name = request.path_params["name"]

        def revoke() -> None:
            with transaction(self.web.engine, write=True) as session:
                appusers.revoke_app_user(session, name, actor=f"user:{user.username}")

        try:
            await run_in_threadpool(revoke)
        except PcmdError as exc:
            request.session["flash_error"] = exc.message
        return RedirectResponse("/setup", status_code=303)

    async def qr(self, request: Request, user: Scope) -> Response:
        """The Collect QR code of an active app user, rebuilt from the secret key."""
        self.admin_only(user)
        name = request.path_params["name"]
        settings = self.web.settings

        def build() -> bytes:
            with transaction(self.web.engine) as session:
                found = appusers.get_app_user_or_none(session, name)
                if found is None or found.revoked_at is not None:
                    raise NotVisible
                token = appusers.token_for(found, secret_key(settings))
                url = appusers.server_url(settings.base_url, token, found.project_id)
                config = appusers.collect_settings(url, appusers.project_name(session, found))
            return appusers.qr_png(appusers.qr_payload(config))

        png = await run_in_threadpool(build)
        # the picture holds a credential: never cache it anywhere
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def workbook(self, request: Request, user: Scope) -> Response:
        self.admin_only(user)
        version_id = int(request.path_params["vid"])

        def load() -> tuple[bytes, str]:
            with transaction(self.web.engine) as session:
                version = session.get(FormVersion, version_id)
                if version is None:
                    raise NotVisible
                return version.xlsform, version.xlsform_filename

        content, filename = await run_in_threadpool(load)
        return Response(
            content,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def upload(self, request: Request, user: Scope) -> Response:
        """A new workbook version: pyxform + ODK Validate; errors shown by row."""
        self.admin_only(user)
        async with request.form(max_files=1) as form:  # closes the spooled upload
            await self.web.check_csrf(request)
            upload = form.get("workbook")
            if not isinstance(upload, UploadFile) or not upload.filename:
                request.session["flash_error"] = "Chưa chọn tệp .xlsx (no .xlsx file chosen)."
                return RedirectResponse("/setup", status_code=303)
            content = await upload.read(MAX_WORKBOOK + 1)
            name = upload.filename

        def build() -> str:
            if len(content) > MAX_WORKBOOK:
                raise PcmdError(f"{name}: tệp quá lớn (file larger than 10 MB).")
            if not name.lower().endswith((".xlsx", ".xls")):
                raise PcmdError(f"{name}: cần tệp XLSForm .xlsx (an .xlsx XLSForm is needed).")
            built = convert_workbook(content, name, validate=True)
            with transaction(self.web.engine, write=True) as session:
                result = store_build(session, built)
                refresh_media(session)
            sha = hashlib.sha256(content).hexdigest()[:8]
            return f"{result.form_id} {result.version}: {result.status} ({sha})"

        try:
            request.session["flash"] = await run_in_threadpool(build)
        except PcmdError as exc:
            request.session["flash_error"] = exc.message
        return RedirectResponse("/setup", status_code=303)

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route("/setup", g(self.page)),
            Route("/setup/appusers", g(self.create_app_user), methods=["POST"]),
            Route("/setup/appusers/{name}/revoke", g(self.revoke), methods=["POST"]),
            Route("/setup/appusers/{name}/qr.png", g(self.qr)),
            Route("/setup/forms/versions/{vid:int}/workbook", g(self.workbook)),
            Route("/setup/forms", g(self.upload), methods=["POST"]),
        ]
