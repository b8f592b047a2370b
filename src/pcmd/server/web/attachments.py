"""Attachment files (photos) of the submissions the user may see.

The type a file is served with is pcmd's decision, not the phone's (ingest/filetypes.py): an
image, sound or video whose bytes match what its question asks for is shown in the page with
that type; anything else is a download (`application/octet-stream`, `attachment`). Every file
also carries `nosniff` and a policy that lets it run nothing (`default-src 'none'; sandbox`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, FormVersion, Submission, SubmissionVersion
from pcmd.forms.xform import upload_mediatypes
from pcmd.ingest.filetypes import HEAD_BYTES, Served, served_type
from pcmd.server.accounts import Scope
from pcmd.server.web.base import NotVisible, Web

FILE_POLICY = "default-src 'none'; sandbox"


@dataclass(frozen=True)
class Found:
    sha256: str
    filename: str
    mediatype: str | None  # what the file's question asks for; None when no question names it


class AttachmentPages:
    def __init__(self, web: Web) -> None:
        self.web = web
        # (form pk, form version) → {question path: mediatype}; form versions never change
        self._uploads: dict[tuple[int, str], dict[str, str]] = {}

    def mediatype(self, session: Session, sub: Submission, att: Attachment) -> str | None:
        """The mediatype of the question whose answer names this file, if one does."""
        version = session.get(SubmissionVersion, att.version_id)
        if version is None:
            return None
        key = (sub.form_pk, version.form_version)
        if key not in self._uploads:
            xform = session.scalar(
                select(FormVersion.xform).where(
                    FormVersion.form_pk == sub.form_pk,
                    FormVersion.version == version.form_version,
                )
            )
            self._uploads[key] = upload_mediatypes(xform) if xform else {}
        uploads = self._uploads[key]
        for path, value in version.data.items():
            if path in uploads and value == att.filename:
                return uploads[path]
        return None

    def served(self, sha256: str, mediatype: str | None) -> Served | None:
        """How the stored file goes out; None when it is missing from the store."""
        path = self.web.store.path_for(sha256)
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except FileNotFoundError:
            return None
        return served_type(head, mediatype)

    async def attachment(self, request: Request, user: Scope) -> Response:
        aid = int(request.path_params["aid"])

        def find() -> tuple[Found, Served | None]:
            with transaction(self.web.engine) as session:
                att = session.get(Attachment, aid)
                if att is None:
                    raise NotVisible
                sub = self.web.visible_submission(session, user, att.submission_id)
                found = Found(att.sha256, att.filename, self.mediatype(session, sub, att))
            return found, self.served(found.sha256, found.mediatype)

        found, served = await run_in_threadpool(find)
        if served is None:
            raise NotVisible
        return FileResponse(
            self.web.store.path_for(found.sha256),
            media_type=served.media_type,
            filename=found.filename,
            content_disposition_type="inline" if served.inline else "attachment",
            headers={
                "Cache-Control": "private, max-age=86400",
                "Content-Security-Policy": FILE_POLICY,
                "X-Content-Type-Options": "nosniff",
            },
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/attachments/{aid:int}", self.web.guarded(self.attachment))]
