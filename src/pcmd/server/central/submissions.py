"""Central's submission REST API, for readers (pyodk's `submissions.list/get`):
`GET …/forms/{id}/submissions`, `…/submissions/{instanceId}`, `…/submissions/{instanceId}.xml`
(the current version's XML), `…/attachments` (`[{"name", "exists"}]`) and one attachment file,
served as the web page serves it (server/web/attachments.py: pcmd decides the type, anything
but a matching image/sound/video is a download, and the file can run nothing). Only current,
not deleted submissions inside the reader's communes; anything else is a 404.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, FormVersion, Submission
from pcmd.forms.xform import upload_mediatypes
from pcmd.ingest.files import FileStore
from pcmd.ingest.filetypes import HEAD_BYTES, served_type
from pcmd.server.accounts import Scope
from pcmd.server.central import problems
from pcmd.server.central.auth import Central
from pcmd.server.central.odata_rows import REVIEW_STATES, central_time
from pcmd.server.central.records import Record, records, visible
from pcmd.server.web.attachments import FILE_POLICY


def submission_json(record: Record) -> dict[str, Any]:
    sub, version, system = record.submission, record.version, record.system
    name = (version.data or {}).get("meta/instanceName")
    return {
        "instanceId": sub.instance_id,
        "submitterId": system.submitter_id,
        "deviceId": version.device_id,
        "userAgent": None,
        "instanceName": name if isinstance(name, str) else None,
        "reviewState": REVIEW_STATES.get(sub.review_state),
        "createdAt": central_time(sub.submitted_at),
        "updatedAt": central_time(system.updated_at),
        "deletedAt": None,
        "currentVersion": {
            "instanceId": version.instance_id,
            "instanceName": name if isinstance(name, str) else None,
            "submitterId": system.submitter_id,
            "deviceId": version.device_id,
            "createdAt": central_time(version.received_at),
            "current": True,
        },
    }


class SubmissionEndpoints:
    def __init__(self, central: Central) -> None:
        self.central = central
        self.store = FileStore(central.settings.attachments_dir)

    def _one(self, session: Session, request: Request, scope: Scope) -> Record:
        p = request.path_params
        form = self.central.form(session, p["pid"], p["form_id"])
        query = visible(form.id, self.central.communes(session, scope)).where(
            Submission.instance_id == p["instance_id"]
        )
        rows = [(s, v) for s, v in session.execute(query)]
        if not rows:
            raise problems.not_found()
        return records(session, rows)[0]

    async def listing(self, request: Request, scope: Scope) -> Response:
        def load() -> list[dict[str, Any]]:
            p = request.path_params
            with transaction(self.central.engine) as session:
                form = self.central.form(session, p["pid"], p["form_id"])
                query = visible(form.id, self.central.communes(session, scope)).order_by(
                    Submission.submitted_at.desc(), Submission.id.desc()
                )
                rows = [(s, v) for s, v in session.execute(query)]
                return [submission_json(r) for r in records(session, rows)]

        return JSONResponse(await run_in_threadpool(load))

    async def one(self, request: Request, scope: Scope) -> Response:
        def load() -> dict[str, Any]:
            with transaction(self.central.engine) as session:
                return submission_json(self._one(session, request, scope))

        return JSONResponse(await run_in_threadpool(load))

    async def xml(self, request: Request, scope: Scope) -> Response:
        def load() -> str:
            with transaction(self.central.engine) as session:
                return self._one(session, request, scope).version.xml

        return Response(await run_in_threadpool(load), media_type="application/xml")

    async def attachments(self, request: Request, scope: Scope) -> Response:
        def load() -> list[dict[str, Any]]:
            with transaction(self.central.engine) as session:
                version = self._one(session, request, scope).version
                present = set(
                    session.scalars(
                        select(Attachment.filename).where(Attachment.version_id == version.id)
                    )
                )
                names = list(dict.fromkeys([*(version.attachments_expected or []), *present]))
                return [{"name": n, "exists": n in present} for n in sorted(names)]

        return JSONResponse(await run_in_threadpool(load))

    async def attachment(self, request: Request, scope: Scope) -> Response:
        name = request.path_params["name"]

        def load() -> tuple[str, str | None]:
            with transaction(self.central.engine) as session:
                record = self._one(session, request, scope)
                version = record.version
                sha = session.scalar(
                    select(Attachment.sha256).where(
                        Attachment.version_id == version.id, Attachment.filename == name
                    )
                )
                if sha is None:
                    raise problems.not_found()
                xform = session.scalar(
                    select(FormVersion.xform).where(
                        FormVersion.form_pk == record.submission.form_pk,
                        FormVersion.version == version.form_version,
                    )
                )
                uploads = upload_mediatypes(xform) if xform else {}
                asked = next(
                    (uploads[p] for p, v in version.data.items() if p in uploads and v == name),
                    None,
                )
                return sha, asked

        sha, asked = await run_in_threadpool(load)
        path = self.store.path_for(sha)
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except FileNotFoundError:
            raise problems.not_found() from None
        served = served_type(head, asked)
        return FileResponse(
            path,
            media_type=served.media_type,
            filename=name,
            content_disposition_type="inline" if served.inline else "attachment",
            headers={
                "ETag": f'"{sha}"',
                "Cache-Control": "private, max-age=86400",
                "Content-Security-Policy": FILE_POLICY,
                "X-Content-Type-Options": "nosniff",
            },
        )

    def routes(self) -> list[BaseRoute]:
        ep = self.central.endpoint
        base = "/v1/projects/{pid:int}/forms/{form_id}/submissions"
        one = f"{base}/{{instance_id}}"
        return [
            Route(base, ep(self.listing), methods=["GET"]),
            Route(f"{one}.xml", ep(self.xml), methods=["GET"]),
            Route(f"{one}/attachments", ep(self.attachments), methods=["GET"]),
            Route(f"{one}/attachments/{{name}}", ep(self.attachment), methods=["GET"]),
            Route(one, ep(self.one), methods=["GET"]),
        ]
