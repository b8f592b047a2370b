"""What the OpenRosa endpoints for ODK Collect share: their paths, headers and messages, and the
caller behind an app user's token.

The endpoints sit at Central-compatible paths:
`{base}/v1/key/{token}/projects/{project}/formList | forms/{id}.xml | forms/{id}/manifest |
forms/{id}/attachments/{file} | submission`. The protocol details Collect relies on
(reference/odk-openrosa-central.md §1): text/xml bodies with X-OpenRosa-Version, md5: hashes,
HEAD → 204 with X-OpenRosa-Accept-Content-Length, success only as 201 with an OpenRosaResponse,
and error messages in an OpenRosaResponse, which Collect shows to the officer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pcmd.db.models import AppUser, Project
from pcmd.errors import AuthError, IngestError, PcmdError
from pcmd.server.openrosa.appusers import authenticate
from pcmd.settings import Settings

XML = "text/xml; charset=utf-8"
# A checked token is trusted this long per process: a phone sends HEAD then POST, and a
# token revoked from any process (the CLI, another server) is refused within a second.
AUTH_TTL = 0.5
PREFIX = "/v1/key/{token}/projects/{project:int}"


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
    """What the endpoint handlers share, bound to one app's settings and engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.headers = openrosa_headers(settings)

    # --- helpers --------------------------------------------------------------------------
    def xml(self, body: str, status: int = 200) -> Response:
        return Response(body, status_code=status, media_type=XML, headers=self.headers)

    def error(self, exc: PcmdError, status: int) -> Response:
        return self.xml(openrosa_message(str(exc), error=True), status)

    def base_path(self, token: str, project: int) -> str:
        return f"{self.settings.base_url}/v1/key/{token}/projects/{project}"

    def caller(self, session: Session, token: str, project: int) -> Caller:
        """The app user of a token in that project (AuthError 401/403 if none or revoked)."""
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
