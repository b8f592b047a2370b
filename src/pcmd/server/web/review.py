"""Review actions on submissions: set the review state of one record or of many ticked in the
list (a rejection is confirmed with a reason), comment on a record, accept a validation issue,
accept a proposed establishment into the register. Every write is scope-checked record by record:
one record outside the user's area refuses the whole action, and nothing changes. Each moves the
submission's `updated_at` (or the register), and the scheduler's pipeline job brings the
indicators up to date within `pipeline_delay_seconds`; the request does not wait for a run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.chunks import chunks
from pcmd.db.engine import transaction
from pcmd.db.models import (
    AuditLog,
    Establishment,
    Submission,
    SubmissionVersion,
    ValidationIssue,
    utcnow,
)
from pcmd.db.review import SubmissionComment
from pcmd.errors import AuthError, PcmdError
from pcmd.ingest import cases
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web

MAX_BATCH = 200  # records one bulk action may change
COMMENT_MAX = 1000


def set_review_state(
    session: Session, username: str, subs: list[Submission], state: str, reason: str
) -> int:
    """Set the review state of `subs` (already scope-checked), each with an audit entry and,
    when a reason is given, an entry in its comment thread; returns how many were changed.
    `updated_at` moves so the incremental pipeline run counts them anew."""
    now = utcnow()
    ids = [sub.id for sub in subs]
    for chunk in chunks(ids):  # a statement per IN_LIMIT records, any number of them
        session.execute(
            update(Submission)
            .where(Submission.id.in_(chunk))
            .values(review_state=state, updated_at=now)
        )
    cases.touch(session.connection(), ids)  # a case or step rejected or restored
    # a rejection's reason is said as such on the audit log page
    said = {"state": state, ("reason" if state == "rejected" else "comment"): reason}
    session.add_all(
        AuditLog(actor=f"user:{username}", action="submission.review", target=str(i), details=said)
        for i in ids
    )
    if reason:
        session.add_all(
            SubmissionComment(submission_id=i, author=username, kind=state, body=reason)
            for i in ids
        )
    return len(subs)


class ReviewActions:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def review(self, request: Request, user: Scope) -> Response:
        """One record's review from its page; a rejection without a reason asks for one."""
        form = await self.web.check_csrf(request)
        sid = int(request.path_params["sid"])
        return await self._decide(
            request, user, form, [str(sid)], f"/submissions/{sid}", single=True
        )

    async def bulk(self, request: Request, user: Scope) -> Response:
        """The records ticked in the list, approved (or rejected, after a reason) at once."""
        form = await self.web.check_csrf(request)
        back = str(form.get("back", ""))
        if not back.startswith("/submissions"):
            back = "/submissions"
        raw = (await request.form()).getlist("ids")
        return await self._decide(request, user, form, [str(i) for i in raw], back, single=False)

    async def _decide(
        self,
        request: Request,
        user: Scope,
        form: dict[str, Any],
        raw: list[str],
        back: str,
        *,
        single: bool,
    ) -> Response:
        """Scope first (one record outside it refuses all: a 404 for a record's own page), then
        a rejection's confirmation, then the change itself in one transaction."""
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        lang = self.web.lang(request)
        action = str(form.get("action", ""))
        if action not in ("approved", "has_issues", "rejected"):
            raise AuthError("forbidden", status=400)
        ids = sorted({int(i) for i in raw if i.strip().isdigit() and len(i.strip()) <= 18})
        if not ids:
            request.session["flash_error"] = i18n.text("nothing_selected", lang)
            return RedirectResponse(back, status_code=303)
        if len(ids) > MAX_BATCH:
            request.session["flash_error"] = i18n.text("too_many", lang).format(n=MAX_BATCH)
            return RedirectResponse(back, status_code=303)
        reason = str(form.get("comment", "")).strip()[:COMMENT_MAX]

        def check() -> None:
            with transaction(self.web.engine) as session:
                for sid in ids:
                    self.web.visible_submission(session, user, sid)

        try:
            await run_in_threadpool(check)
        except NotVisible:
            if single:
                raise
            request.session["flash_error"] = i18n.text("out_of_scope", lang)
            return RedirectResponse(back, status_code=303)
        if action == "rejected" and (not reason or form.get("confirmed") != "1"):
            # a rejection is confirmed on its own page, with the reason written there
            error = i18n.text("reason_required", lang) if form.get("confirmed") == "1" else None
            return self.web.render(
                request,
                "reject.html",
                {
                    "user": user,
                    "nav": "submissions",
                    "ids": ids,
                    "back": back,
                    "error": error,
                    "reason": reason,
                },
                status=400 if error else 200,
            )

        def apply() -> int:
            with transaction(self.web.engine, write=True) as session:
                subs = [self.web.visible_submission(session, user, sid) for sid in ids]
                return set_review_state(session, user.username, subs, action, reason)

        try:
            changed = await run_in_threadpool(apply)
        except NotVisible:
            request.session["flash_error"] = i18n.text("out_of_scope", lang)
            return RedirectResponse(back, status_code=303)
        request.session["flash"] = (
            i18n.text("saved", lang)
            if len(ids) == 1
            else i18n.text("reviewed_n", lang).format(n=changed)
        )
        return RedirectResponse(back, status_code=303)

    async def comment(self, request: Request, user: Scope) -> Response:
        """A comment added to a record's thread by anyone who may see the record."""
        form = await self.web.check_csrf(request)
        sid = int(request.path_params["sid"])
        body = str(form.get("comment", "")).strip()[:COMMENT_MAX]
        lang = self.web.lang(request)
        if not body:
            request.session["flash_error"] = i18n.text("comment_empty", lang)
            return RedirectResponse(f"/submissions/{sid}#thread", status_code=303)

        def apply() -> None:
            with transaction(self.web.engine, write=True) as session:
                sub = self.web.visible_submission(session, user, sid)
                session.add(
                    SubmissionComment(
                        submission_id=sub.id, author=user.username, kind="comment", body=body
                    )
                )
                session.add(
                    AuditLog(
                        actor=f"user:{user.username}",
                        action="submission.comment",
                        target=str(sub.id),
                        details={"comment": body},
                    )
                )

        await run_in_threadpool(apply)
        request.session["flash"] = i18n.text("saved", lang)
        return RedirectResponse(f"/submissions/{sid}#thread", status_code=303)

    async def override(self, request: Request, user: Scope) -> Response:
        """A reviewer accepts a validation issue: an error then no longer excludes the record."""
        await self.web.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])
        issue_id = int(request.path_params["iid"])

        def apply() -> None:
            from pcmd.pipeline.validate.store import override_issue

            with transaction(self.web.engine, write=True) as session:
                self.web.visible_submission(session, user, sid)
                owner = session.scalar(
                    select(ValidationIssue.submission_id).where(ValidationIssue.id == issue_id)
                )
                if owner != sid:
                    raise NotVisible
                override_issue(session.connection(), issue_id, f"user:{user.username}")

        try:
            await run_in_threadpool(apply)
        except PcmdError as exc:
            request.session["flash_error"] = exc.message
        else:
            request.session["flash"] = i18n.text("saved", self.web.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    async def accept_establishment(self, request: Request, user: Scope) -> Response:
        await self.web.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])

        def apply() -> None:
            with transaction(self.web.engine, write=True) as session:
                sub = self.web.visible_submission(session, user, sid)
                version = session.get(SubmissionVersion, sub.current_version_id)
                assert version is not None
                data = version.data
                if data.get("establishment/known") != "no" or not data.get("establishment/name"):
                    raise NotVisible
                new_id = f"{sub.commune_code}-{sub.id:06d}"
                if session.get(Establishment, new_id) is None:
                    session.add(
                        Establishment(
                            id=new_id,
                            name=str(data["establishment/name"]),
                            type=str(data.get("establishment/type") or "khac"),
                            commune_code=sub.commune_code or "",
                            address=str(data.get("establishment/address") or ""),
                            license_no=str(data.get("establishment/license_no") or ""),
                            status="active",
                            proposed_by_submission_id=sub.id,
                        )
                    )
                    session.add(
                        AuditLog(
                            actor=f"user:{user.username}",
                            action="establishment.accept",
                            target=new_id,
                            details={"submission": sub.id},
                        )
                    )
                    from pcmd.forms.registry import refresh_media

                    refresh_media(session)

        await run_in_threadpool(apply)
        request.session["flash"] = i18n.text("saved", self.web.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route("/submissions/review", g(self.bulk), methods=["POST"]),
            Route("/submissions/{sid:int}/review", g(self.review), methods=["POST"]),
            Route("/submissions/{sid:int}/comments", g(self.comment), methods=["POST"]),
            Route(
                "/submissions/{sid:int}/issues/{iid:int}/accept",
                g(self.override),
                methods=["POST"],
            ),
            Route(
                "/submissions/{sid:int}/establishment",
                g(self.accept_establishment),
                methods=["POST"],
            ),
        ]
