"""Officers and reviewers in ODK Web Forms: the Forms page (fill a form in the browser), and the
correction of a submission — the form opens with the record's answers and files, and sending it
is an edit (new instanceID, `deprecatedID` = the current one) through the one ingest, so the
history keeps the old version and says who changed it. Scope as everywhere on the pages: a
commune officer fills and corrects for their communes, a province user for their province."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, AuditLog, Form, SubmissionVersion
from pcmd.errors import AuthError, IngestError
from pcmd.server.accounts import Scope
from pcmd.server.headers import WEB_FORM_POLICY
from pcmd.server.openrosa.endpoint import Caller
from pcmd.server.openrosa.forms import FormEndpoints
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web
from pcmd.server.webforms.receive import WebReceiver
from pcmd.server.webforms.words import OUTBOX, page_texts, word

PROJECT = 1


class StaffForms:
    def __init__(self, web: Web, receiver: WebReceiver) -> None:
        self.web = web
        self.receiver = receiver
        self.openrosa = FormEndpoints(web.settings, web.engine)

    @staticmethod
    def _may_write(user: Scope) -> None:
        if not user.can_review:  # a viewer reads only
            raise AuthError("forbidden", status=403)

    def _communes(self, user: Scope) -> frozenset[str] | None:
        with transaction(self.web.engine) as session:
            communes = self.web.scoped_communes(session, user)
        return None if communes is None else frozenset(communes)

    def _context(self, request: Request, **extra: Any) -> dict[str, Any]:
        lang = self.web.lang(request)
        # what the outbox sends with: this session's CSRF token (a queued form made under an
        # ended session is sent with it once signed in again)
        outbox = {"csrf": self.web.csrf(request)}
        return {
            "texts": page_texts(),
            "w": lambda key: word(key, lang),
            "nav": "forms",
            "outbox": outbox,
            **extra,
        }

    def _form_page(self, request: Request, context: dict[str, Any]) -> Response:
        response = self.web.render(request, "webform.html", context)
        response.headers["Content-Security-Policy"] = WEB_FORM_POLICY
        return response

    # --- the Forms page and filling a form ---------------------------------------------------
    async def forms_page(self, request: Request, user: Scope) -> Response:
        def load() -> list[tuple[str, str]]:
            with transaction(self.web.engine) as session:
                return [
                    (f.title or f.form_id, f"/forms/{quote(f.form_id, safe='')}/fill")
                    for f, _v in self.openrosa.open_forms(session, PROJECT)
                ]

        links = await run_in_threadpool(load) if user.can_review else []
        context = self._context(request, user=user, links=links, reporter=None)
        return self.web.render(request, "webforms_list.html", context)

    async def fill_page(self, request: Request, user: Scope) -> Response:
        self._may_write(user)
        form_id = request.path_params["form_id"]

        def load() -> str:
            with transaction(self.web.engine) as session:
                try:
                    form, _v = self.openrosa.open_form(session, PROJECT, form_id)
                except IngestError:
                    raise NotVisible from None
                return form.title or form.form_id

        title = await run_in_threadpool(load)
        fid = quote(form_id, safe="")
        form = {
            "mode": "new",
            "title": title,
            "form-url": f"/forms/{fid}/form.xml",
            "media-url": f"/forms/{fid}/media/",
            "submit-url": "/forms/submission",
            "csrf": self.web.csrf(request),
            "draft-key": f"new:user:{user.user_id}:{form_id}",
        }
        context = self._context(request, user=user, title=title, form=form, back="/forms")
        return self._form_page(request, context)

    async def form_xml(self, request: Request, user: Scope) -> Response:
        form_id = request.path_params["form_id"]

        def load() -> str:
            with transaction(self.web.engine) as session:
                try:
                    return self.openrosa.open_form(session, PROJECT, form_id)[1].xform
                except IngestError:
                    raise NotVisible from None

        return Response(await run_in_threadpool(load), media_type="text/xml; charset=utf-8")

    async def media_file(self, request: Request, user: Scope) -> Response:
        """A form's media file; communes.csv and its kin cut to the user's communes."""
        form_id = request.path_params["form_id"]
        filename = request.path_params["filename"]
        communes = await run_in_threadpool(self._communes, user)

        def load() -> tuple[bytes, str]:
            with transaction(self.web.engine) as session:
                try:
                    form, version = self.openrosa.open_form(session, PROJECT, form_id)
                except IngestError:
                    raise NotVisible from None
                caller = Caller(0, user.username, communes or frozenset(), PROJECT)
                item = self.openrosa.form_media(session, form, version, caller).get(filename)
            if item is None:
                raise NotVisible
            return item.content, item.content_type

        content, content_type = await run_in_threadpool(load)
        return Response(content, media_type=content_type)

    # --- correcting a submission -------------------------------------------------------------
    async def edit_page(self, request: Request, user: Scope) -> Response:
        self._may_write(user)
        sid = int(request.path_params["sid"])

        def load() -> dict[str, Any]:
            with transaction(self.web.engine) as session:
                sub = self.web.visible_submission(session, user, sid)
                version = session.get(SubmissionVersion, sub.current_version_id)
                form = session.get(Form, sub.form_pk)
                if version is None or form is None:
                    raise NotVisible
                files = session.scalars(
                    select(Attachment).where(Attachment.version_id == version.id)
                ).all()
                return {
                    "form_id": form.form_id,
                    "title": form.title or form.form_id,
                    "instance_id": version.instance_id,
                    "files": [{"name": a.filename, "url": f"/attachments/{a.id}"} for a in files],
                }

        found = await run_in_threadpool(load)
        fid = quote(found["form_id"], safe="")
        lang = self.web.lang(request)
        form = {
            "mode": "edit",
            "title": found["title"],
            "form-url": f"/forms/{fid}/form.xml",
            "media-url": f"/forms/{fid}/media/",
            "submit-url": "/forms/submission",
            "instance-url": f"/submissions/{sid}/instance.xml",
            "attachments": json.dumps(found["files"]),
            "deprecated-id": found["instance_id"],
            "done-url": f"/submissions/{sid}",
            "csrf": self.web.csrf(request),
            "draft-key": f"edit:user:{user.user_id}:{found['instance_id']}",
        }
        context = self._context(
            request,
            user=user,
            title=f"{word('edit_title', lang)}: {found['title']}",
            intro=word("edit_intro", lang),
            form=form,
            back=f"/submissions/{sid}",
            back_label=word("back", lang),
        )
        return self._form_page(request, context)

    async def instance_xml(self, request: Request, user: Scope) -> Response:
        sid = int(request.path_params["sid"])

        def load() -> str:
            with transaction(self.web.engine) as session:
                sub = self.web.visible_submission(session, user, sid)
                version = session.get(SubmissionVersion, sub.current_version_id)
                if version is None:
                    raise NotVisible
                return version.xml

        xml = await run_in_threadpool(load)
        return Response(xml, media_type="text/xml; charset=utf-8")

    # --- what the browser sends --------------------------------------------------------------
    async def submit_endpoint(self, request: Request) -> Response:
        """The browser's outbox posts here: JSON answers only, never a redirect to the sign-in
        page (a fetch would follow it and read a 200); no session is a 401 it can say."""
        user = await run_in_threadpool(self.web.user, request)
        if user is None or user.must_change_password:
            return JSONResponse({"message": OUTBOX["signIn"], "signin": "session"}, status_code=401)
        try:
            return await self.submit(request, user)
        except (AuthError, NotVisible):
            body = {"message": i18n.text("forbidden", self.web.lang(request))}
            return JSONResponse(body, status_code=403)

    async def submit(self, request: Request, user: Scope) -> Response:
        lang = self.web.lang(request)
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not hmac.compare_digest(sent, self.web.csrf(request)):
            # a session signed in again since the page was opened: the page asks to sign in
            body = {"message": i18n.text("bad_csrf", lang), "signin": "session"}
            return JSONResponse(body, status_code=403)
        if not user.can_review:
            return JSONResponse({"message": i18n.text("forbidden", lang)}, status_code=403)
        communes = await run_in_threadpool(self._communes, user)
        response, result = await self.receiver.receive(
            request, submitter=f"user:{user.username}", project=PROJECT, communes=communes
        )
        if result is not None and result.status == "edited":

            def audit() -> None:
                with transaction(self.web.engine, write=True) as session:
                    session.add(
                        AuditLog(
                            actor=f"user:{user.username}",
                            action="submission.edit",
                            target=str(result.submission_id),
                            details={"instance_id": result.version_instance_id, "via": "web"},
                        )
                    )

            await run_in_threadpool(audit)
        return response

    def routes(self) -> list[Route]:
        g = self.web.guarded
        return [
            Route("/forms", g(self.forms_page)),
            Route("/forms/submission", self.submit_endpoint, methods=["POST"]),
            Route("/forms/{form_id}/fill", g(self.fill_page)),
            Route("/forms/{form_id}/form.xml", g(self.form_xml)),
            Route("/forms/{form_id}/media/{filename}", g(self.media_file)),
            Route("/submissions/{sid:int}/edit", g(self.edit_page)),
            Route("/submissions/{sid:int}/instance.xml", g(self.instance_xml)),
        ]
