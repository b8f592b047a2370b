"""The form list, each form's XForm, its manifest and its media files (filtered to the app user's
communes), as Collect fetches them."""

from __future__ import annotations

from urllib.parse import quote
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pcmd.db.engine import transaction
from pcmd.db.models import Form, FormMedia, FormVersion
from pcmd.errors import IngestError
from pcmd.forms import media
from pcmd.forms.case_list import load_cases
from pcmd.forms.entities import CASES_CSV, cases_csv
from pcmd.server.openrosa.endpoint import PREFIX, Caller, OpenRosa


class FormEndpoints(OpenRosa):
    def open_forms(self, session: Session, project: int) -> list[tuple[Form, FormVersion]]:
        """The project's open forms with their current versions, by title."""
        rows = session.execute(
            select(Form, FormVersion)
            .join(FormVersion, FormVersion.id == Form.current_version_id)
            .where(Form.project_id == project, Form.state == "open")
            .order_by(Form.title, Form.form_id)
        ).all()
        return [(f, v) for f, v in rows]

    def open_form(self, session: Session, project: int, form_id: str) -> tuple[Form, FormVersion]:
        """One open form and its current version (IngestError 404 if not open here)."""
        for form, version in self.open_forms(session, project):
            if form.form_id == form_id:
                return form, version
        raise IngestError(
            f"Không có biểu mẫu {form_id!r} (no form {form_id!r} on this server).", status=404
        )

    async def form_list(self, request: Request) -> Response:
        wanted = request.query_params.get("formID")

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                self.caller(session, token, project)
                forms = self.open_forms(session, project)
            base = self.base_path(token, project)
            items = []
            for form, version in forms:
                if wanted and form.form_id != wanted:
                    continue
                fid = quote(form.form_id, safe="")
                manifest = (
                    f"<manifestUrl>{escape(base)}/forms/{fid}/manifest</manifestUrl>"
                    if version.media_files
                    else ""
                )
                items.append(
                    "<xform>"
                    f"<formID>{escape(form.form_id)}</formID>"
                    f"<name>{escape(form.title or form.form_id)}</name>"
                    f"<version>{escape(version.version)}</version>"
                    f"<hash>md5:{version.xform_md5}</hash>"
                    f"<downloadUrl>{escape(base)}/forms/{fid}.xml</downloadUrl>"
                    f"{manifest}</xform>"
                )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<xforms xmlns="http://openrosa.org/xforms/xformsList">'
                + "".join(items)
                + "</xforms>"
            )
            return self.xml(body)

        return await self._run(request, work)

    async def form_xml(self, request: Request) -> Response:
        form_id = request.path_params["form_id"]

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                self.caller(session, token, project)
                _form, version = self.open_form(session, project, form_id)
            return self.xml(version.xform)

        return await self._run(request, work)

    def form_media(
        self, session: Session, form: Form, version: FormVersion, caller: Caller
    ) -> dict[str, media.MediaFile]:
        """The version's media files by name, as that caller gets them (scoped to its communes)."""
        rows = session.scalars(select(FormMedia).where(FormMedia.form_pk == form.id)).all()
        files = {
            r.filename: media.MediaFile(r.filename, r.content, r.content_type)
            for r in rows
            if r.filename in version.media_files
        }
        scoped = media.scope_media(files, caller.communes)
        if CASES_CSV in version.media_files:
            # the entity list: this app user's communes' cases, as they are now
            views = load_cases(session.connection(), caller.communes)
            scoped[CASES_CSV] = cases_csv(v.row for v in views)
        return scoped

    async def manifest(self, request: Request) -> Response:
        form_id = request.path_params["form_id"]

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                caller = self.caller(session, token, project)
                form, version = self.open_form(session, project, form_id)
                files = self.form_media(session, form, version, caller)
            base = f"{self.base_path(token, project)}/forms/{quote(form_id, safe='')}"
            items = "".join(
                # Collect (v2024.3+) keeps an entity list in its entity store
                ('<mediaFile type="entityList">' if name == CASES_CSV else "<mediaFile>")
                + f"<filename>{escape(name)}</filename>"
                f"<hash>md5:{item.md5}</hash>"
                f"<downloadUrl>{escape(base)}/attachments/{quote(name, safe='')}</downloadUrl>"
                "</mediaFile>"
                for name, item in sorted(files.items())
            )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">'
                f"{items}</manifest>"
            )
            return self.xml(body)

        return await self._run(request, work)

    async def media_file(self, request: Request) -> Response:
        form_id = request.path_params["form_id"]
        filename = request.path_params["filename"]

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                caller = self.caller(session, token, project)
                form, version = self.open_form(session, project, form_id)
                files = self.form_media(session, form, version, caller)
            item = files.get(filename)
            if item is None:
                raise IngestError(
                    f"Biểu mẫu {form_id} không có tệp {filename!r} (no media file {filename!r}).",
                    status=404,
                )
            return Response(item.content, media_type=item.content_type, headers=self.headers)

        return await self._run(request, work)

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/formList", self.form_list, methods=["GET"]),
            Route(f"{PREFIX}/forms/{{form_id}}.xml", self.form_xml, methods=["GET"]),
            Route(f"{PREFIX}/forms/{{form_id}}/manifest", self.manifest, methods=["GET"]),
            Route(
                f"{PREFIX}/forms/{{form_id}}/attachments/{{filename}}",
                self.media_file,
                methods=["GET"],
            ),
        ]
