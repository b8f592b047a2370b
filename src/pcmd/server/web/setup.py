"""The field set-up page (national administrators): forms and their new versions.

App users (Collect QR codes) are on the accounts pages (server/web/appusers.py), where a
province administrator runs its own.
"""

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
from pcmd.server.web.base import NotVisible, Web

MAX_WORKBOOK = 10_000_000


class SetupPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    @staticmethod
    def admin_only(user: Scope) -> None:
        """Forms serve every province: only a national administrator changes them."""
        if not user.is_national_admin:
            raise AuthError("forbidden", status=403)

    def _context(self) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
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
        return {"forms": forms, "versions": by_form}

    async def page(self, request: Request, user: Scope) -> Response:
        self.admin_only(user)
        data = await run_in_threadpool(self._context)
        return self.web.render(request, "setup.html", {"user": user, "nav": "setup", **data})

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
            Route("/setup/forms/versions/{vid:int}/workbook", g(self.workbook)),
            Route("/setup/forms", g(self.upload), methods=["POST"]),
        ]
