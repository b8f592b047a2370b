"""A volunteer's web forms, by the app user's link (`web_url`, the token in the path as in the
Collect URL): the list of the forms that app user may fill, one form in ODK Web Forms, and the
submission its browser sends — checked against the app user's communes like Collect's."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError, IngestError, PcmdError
from pcmd.server.headers import WEB_FORM_POLICY
from pcmd.server.openrosa.endpoint import PREFIX, Caller
from pcmd.server.openrosa.forms import FormEndpoints
from pcmd.server.web.base import Web
from pcmd.server.webforms.receive import WebReceiver
from pcmd.server.webforms.words import page_texts, word

WEB_PATH = "/web"


def web_url(base_url: str, token: str, project_id: int = 1) -> str:
    """The page of an app user's web forms, for a phone browser (DESIGN §9)."""
    return f"{base_url}/v1/key/{token}/projects/{project_id}{WEB_PATH}"


def key_path(token: str, project: int) -> str:
    """The same-origin path of an app user's OpenRosa endpoints (form XML, media)."""
    return f"/v1/key/{quote(token, safe='')}/projects/{project}"


class VolunteerForms:
    def __init__(self, web: Web, receiver: WebReceiver) -> None:
        self.web = web
        self.receiver = receiver
        self.openrosa = FormEndpoints(web.settings, web.engine)

    def _refused(self, request: Request, exc: PcmdError, status: int) -> Response:
        lang = self.web.lang(request)
        title = "Không mở được (cannot open)" if lang == "vi" else "Cannot open (không mở được)"
        return self.web.render(
            request, "error.html", {"user": None, "title": title, "message": exc.message}, status
        )

    def _load(self, token: str, project: int, form_id: str | None) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            caller: Caller = self.openrosa.caller(session, token, project)
            forms = [
                (form.form_id, form.title or form.form_id)
                for form, _v in self.openrosa.open_forms(session, project)
            ]
            title = None
            if form_id is not None:
                form, _version = self.openrosa.open_form(session, project, form_id)
                title = form.title or form.form_id
        return {"caller": caller, "forms": forms, "title": title}

    async def _page(self, request: Request, form_id: str | None) -> Response:
        token = request.path_params["token"]
        project = request.path_params["project"]
        try:
            found = await run_in_threadpool(self._load, token, project, form_id)
        except (AuthError, IngestError) as exc:
            return self._refused(request, exc, exc.status)
        lang = self.web.lang(request)
        base = key_path(token, project)
        context: dict[str, Any] = {
            "user": None,
            "reporter": found["caller"].name,
            "texts": page_texts(),
            "w": lambda key: word(key, lang),
            # a form queued under a link since revoked is sent by this (new) link's address
            "outbox": {"key-url": f"{base}{WEB_PATH}/submission"},
        }
        if form_id is None:
            links = [
                (title, f"{base}{WEB_PATH}/{quote(fid, safe='')}") for fid, title in found["forms"]
            ]
            return self.web.render(request, "webforms_list.html", {**context, "links": links})
        fid = quote(form_id, safe="")
        context.update(
            title=found["title"],
            back=f"{base}{WEB_PATH}",
            form={
                "mode": "new",
                "title": found["title"],
                "form-url": f"{base}/forms/{fid}.xml",
                "media-url": f"{base}/forms/{fid}/attachments/",
                "submit-url": f"{base}{WEB_PATH}/submission",
                # drafts are kept per app user and form, never under the token itself
                "draft-key": f"new:{found['caller'].app_user_id}:{project}:{form_id}",
            },
        )
        response = self.web.render(request, "webform.html", context)
        response.headers["Content-Security-Policy"] = WEB_FORM_POLICY
        return response

    async def list_page(self, request: Request) -> Response:
        return await self._page(request, None)

    async def form_page(self, request: Request) -> Response:
        return await self._page(request, request.path_params["form_id"])

    async def submission(self, request: Request) -> Response:
        token = request.path_params["token"]
        project = request.path_params["project"]

        def who() -> Caller:
            with transaction(self.web.engine) as session:
                return self.openrosa.caller(session, token, project)

        try:
            caller = await run_in_threadpool(who)
        except AuthError as exc:
            # the link itself no longer works (revoked, unknown): the page asks for a new one
            body = {"message": exc.message, "signin": "link"}
            return JSONResponse(body, status_code=exc.status)
        response, _result = await self.receiver.receive(
            request,
            submitter=f"appuser:{caller.name}",
            project=project,
            communes=caller.communes or None,
        )
        return response

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}{WEB_PATH}", self.list_page, methods=["GET"]),
            Route(f"{PREFIX}{WEB_PATH}/submission", self.submission, methods=["POST"]),
            Route(f"{PREFIX}{WEB_PATH}/{{form_id}}", self.form_page, methods=["GET"]),
        ]
