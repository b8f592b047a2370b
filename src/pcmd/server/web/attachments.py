"""Attachment files (photos) of the submissions the user may see."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment
from pcmd.server.accounts import Scope
from pcmd.server.web.base import NotVisible, Web


class AttachmentPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def attachment(self, request: Request, user: Scope) -> Response:
        aid = int(request.path_params["aid"])

        def find() -> Attachment:
            with transaction(self.web.engine) as session:
                att = session.get(Attachment, aid)
                if att is None:
                    raise NotVisible
                self.web.visible_submission(session, user, att.submission_id)
                return att

        att = await run_in_threadpool(find)
        path = self.web.store.path_for(att.sha256)
        if not path.exists():
            raise NotVisible
        return FileResponse(
            path, media_type=att.content_type, headers={"Cache-Control": "private, max-age=86400"}
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/attachments/{aid:int}", self.web.guarded(self.attachment))]
