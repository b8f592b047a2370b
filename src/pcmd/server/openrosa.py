"""OpenRosa endpoints for ODK Collect, at Central-compatible paths (DESIGN §9).

`{base}/v1/key/{token}/projects/{project}/formList | forms/{id}.xml | forms/{id}/manifest |
forms/{id}/attachments/{file} | submission`. The protocol details Collect relies on
(reference/odk-openrosa-central.md §1): text/xml bodies with X-OpenRosa-Version, md5: hashes,
HEAD → 204 with X-OpenRosa-Accept-Content-Length, success only as 201 with an OpenRosaResponse,
and error messages in an OpenRosaResponse, which Collect shows to the officer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pcmd.db.engine import transaction
from pcmd.db.models import AppUser, Form, FormMedia, FormVersion, Project
from pcmd.errors import AuthError, IngestError, PcmdError
from pcmd.forms import media
from pcmd.ingest.files import FileStore
from pcmd.ingest.ingest import FormLookup, Incoming, IngestResult, ingest_with_retry
from pcmd.server.appusers import authenticate
from pcmd.server.multipart import read_upload
from pcmd.settings import Settings

log = logging.getLogger("pcmd.submissions")

XML = "text/xml; charset=utf-8"
AUTH_TTL = 5.0
PREFIX = "/v1/key/{token}/projects/{project:int}"
MESSAGES = {
    "created": "Đã nhận phiếu (submission received).",
    "edited": "Đã nhận bản sửa của phiếu (edited submission received).",
    "duplicate": "Phiếu này đã được nhận trước đó (this submission was already received).",
    "attachments_added": "Đã nhận thêm tệp đính kèm (attachments received).",
}


def openrosa_headers(settings: Settings) -> dict[str, str]:
    return {
        "X-OpenRosa-Version": "1.0",
        "X-OpenRosa-Accept-Content-Length": str(settings.max_submission_bytes),
    }


def openrosa_message(text: str, *, error: bool) -> str:
    nature = "error" if error else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="0">'
        f'<message nature="{nature}">{escape(text)}</message></OpenRosaResponse>'
    )


@dataclass(frozen=True)
class Caller:
    app_user_id: int
    name: str
    communes: frozenset[str]
    project_id: int


class OpenRosa:
    """The endpoint handlers, bound to one app's settings, engine and file store."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = FileStore(settings.data_dir / "attachments")
        self.headers = openrosa_headers(settings)
        self.forms = FormLookup()
        # Ingest runs on threads of its own (lighter than anyio's pool per call); SQLite takes
        # one writer at a time anyway, so one thread there, a few for PostgreSQL.
        self.writers = ThreadPoolExecutor(
            max_workers=1 if engine.dialect.name == "sqlite" else 4, thread_name_prefix="ingest"
        )
        # token → (when checked, caller): phones send HEAD + POST per submission, and a revoked
        # token is refused again within AUTH_TTL seconds.
        self._callers: dict[str, tuple[float, Caller]] = {}

    # --- helpers --------------------------------------------------------------------------
    def xml(self, body: str, status: int = 200) -> Response:
        return Response(body, status_code=status, media_type=XML, headers=self.headers)

    def error(self, exc: PcmdError, status: int) -> Response:
        return self.xml(openrosa_message(str(exc), error=True), status)

    def base_path(self, token: str, project: int) -> str:
        return f"{self.settings.base_url}/v1/key/{token}/projects/{project}"

    def _caller(self, session: Session, token: str, project: int) -> Caller:
        user: AppUser = authenticate(session, token)
        if user.project_id != project or session.get(Project, project) is None:
            raise AuthError(
                f"Tài khoản không thuộc dự án {project} (this app user has no access to project "
                f"{project}): scan the QR code again.",
                status=403,
            )
        return Caller(user.id, user.name, frozenset(user.commune_codes or ()), project)

    async def _run(self, request: Request, work: Any) -> Response:
        token = request.path_params["token"]
        project = request.path_params["project"]
        try:
            return await run_in_threadpool(work, token, project)
        except AuthError as exc:
            return self.error(exc, exc.status)
        except IngestError as exc:
            return self.error(exc, exc.status)

    # --- form list, form, manifest, media ----------------------------------------------------
    def _open_forms(self, session: Session, project: int) -> list[tuple[Form, FormVersion]]:
        rows = session.execute(
            select(Form, FormVersion)
            .join(FormVersion, FormVersion.id == Form.current_version_id)
            .where(Form.project_id == project, Form.state == "open")
            .order_by(Form.title, Form.form_id)
        ).all()
        return [(f, v) for f, v in rows]

    def _form(self, session: Session, project: int, form_id: str) -> tuple[Form, FormVersion]:
        for form, version in self._open_forms(session, project):
            if form.form_id == form_id:
                return form, version
        raise IngestError(
            f"Không có biểu mẫu {form_id!r} (no form {form_id!r} on this server).", status=404
        )

    async def form_list(self, request: Request) -> Response:
        wanted = request.query_params.get("formID")

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                self._caller(session, token, project)
                forms = self._open_forms(session, project)
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
                self._caller(session, token, project)
                _form, version = self._form(session, project, form_id)
            return self.xml(version.xform)

        return await self._run(request, work)

    def _media(
        self, session: Session, form: Form, version: FormVersion, caller: Caller
    ) -> dict[str, media.MediaFile]:
        rows = session.scalars(select(FormMedia).where(FormMedia.form_pk == form.id)).all()
        files = {
            r.filename: media.MediaFile(r.filename, r.content, r.content_type)
            for r in rows
            if r.filename in version.media_files
        }
        return media.scope_media(files, caller.communes)

    async def manifest(self, request: Request) -> Response:
        form_id = request.path_params["form_id"]

        def work(token: str, project: int) -> Response:
            with transaction(self.engine) as session:
                caller = self._caller(session, token, project)
                form, version = self._form(session, project, form_id)
                files = self._media(session, form, version, caller)
            base = f"{self.base_path(token, project)}/forms/{quote(form_id, safe='')}"
            items = "".join(
                "<mediaFile>"
                f"<filename>{escape(name)}</filename>"
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
                caller = self._caller(session, token, project)
                form, version = self._form(session, project, form_id)
                files = self._media(session, form, version, caller)
            item = files.get(filename)
            if item is None:
                raise IngestError(
                    f"Biểu mẫu {form_id} không có tệp {filename!r} (no media file {filename!r}).",
                    status=404,
                )
            return Response(item.content, media_type=item.content_type, headers=self.headers)

        return await self._run(request, work)

    # --- submission ------------------------------------------------------------------------
    async def submission_head(self, request: Request) -> Response:
        try:
            await self._authorise(request.path_params["token"], request.path_params["project"])
        except AuthError as exc:
            return self.error(exc, exc.status)
        return Response(status_code=204, headers=self.headers)

    async def _authorise(self, token: str, project: int) -> Caller:
        """The caller for a token: from the cache without leaving the event loop, else the DB."""
        hit = self._callers.get(token)
        if (
            hit is not None
            and time.monotonic() - hit[0] < AUTH_TTL
            and hit[1].project_id == project
        ):
            return hit[1]
        return await run_in_threadpool(self._auth_only, token, project)

    async def submission(self, request: Request) -> Response:
        started = time.perf_counter()
        token = request.path_params["token"]
        project = request.path_params["project"]
        who, outcome, instance, form_id = "?", "error", "-", "-"
        try:
            caller = await self._authorise(token, project)
            who = caller.name
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > self.settings.max_submission_bytes:
                raise IngestError(
                    f"Phiếu quá lớn: hơn {self.settings.max_submission_bytes:,} byte (submission "
                    f"larger than {self.settings.max_submission_bytes:,} bytes).",
                    status=413,
                )
            upload = await read_upload(
                request.headers.get("content-type", ""),
                request.stream(),
                self.store,
                self.settings.max_submission_bytes,
            )
            incoming = Incoming(
                xml=upload.xml or b"",
                source="openrosa",
                files=tuple(upload.files),
                submitter=f"appuser:{caller.name}",
                device_id=request.query_params.get("deviceID"),
                project_id=project,
                communes=caller.communes or None,
            )
            try:
                result: IngestResult = await asyncio.get_running_loop().run_in_executor(
                    self.writers, ingest_with_retry, self.engine, self.store, incoming, self.forms
                )
            finally:
                upload.cleanup()
            outcome, instance, form_id = result.status, result.version_instance_id, result.form_id
            return self.xml(openrosa_message(MESSAGES[result.status], error=False), 201)
        except (AuthError, IngestError) as exc:
            outcome = f"{exc.status} {exc.message[:80]}"
            return self.error(exc, exc.status)
        finally:
            log.info(
                "submission who=%s form=%s instance=%s result=%s ms=%.1f",
                who,
                form_id,
                instance,
                outcome,
                (time.perf_counter() - started) * 1000,
            )

    def _auth_only(self, token: str, project: int) -> Caller:
        with transaction(self.engine) as session:
            caller = self._caller(session, token, project)
        if len(self._callers) > 10_000:
            self._callers.clear()
        self._callers[token] = (time.monotonic(), caller)
        return caller

    def routes(self) -> list[Route]:
        return [
            # the routes phones hit most come first
            Route(f"{PREFIX}/submission", self.submission_head, methods=["HEAD", "GET"]),
            Route(f"{PREFIX}/submission", self.submission, methods=["POST"]),
            Route(f"{PREFIX}/formList", self.form_list, methods=["GET"]),
            Route(f"{PREFIX}/forms/{{form_id}}.xml", self.form_xml, methods=["GET"]),
            Route(f"{PREFIX}/forms/{{form_id}}/manifest", self.manifest, methods=["GET"]),
            Route(
                f"{PREFIX}/forms/{{form_id}}/attachments/{{filename}}",
                self.media_file,
                methods=["GET"],
            ),
        ]
