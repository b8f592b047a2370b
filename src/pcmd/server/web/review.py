"""Review actions on a submission: set its review state, accept a validation issue, accept a
proposed establishment into the register. Each moves the submission's `updated_at` (or the
register), and the scheduler's pipeline job brings the indicators up to date within
`pipeline_delay_seconds`; the request itself does not wait for a pipeline run."""

from __future__ import annotations

from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import (
    AuditLog,
    Establishment,
    Submission,
    SubmissionVersion,
    ValidationIssue,
    utcnow,
)
from pcmd.errors import AuthError, PcmdError
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web


class ReviewActions:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def review(self, request: Request, user: Scope) -> Response:
        form = await self.web.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])
        action = str(form.get("action", ""))
        if action not in ("approved", "has_issues", "rejected"):
            raise AuthError("forbidden", status=400)
        comment = str(form.get("comment", ""))[:500]

        def apply() -> None:
            with transaction(self.web.engine, write=True) as session:
                sub = self.web.visible_submission(session, user, sid)
                session.execute(
                    update(Submission)
                    .where(Submission.id == sub.id)
                    # updated_at moves so the incremental pipeline run picks the change up
                    .values(review_state=action, updated_at=utcnow())
                )
                session.add(
                    AuditLog(
                        actor=f"user:{user.username}",
                        action="submission.review",
                        target=str(sub.id),
                        details={"state": action, "comment": comment},
                    )
                )

        await run_in_threadpool(apply)
        request.session["flash"] = i18n.text("saved", self.web.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

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
            Route("/submissions/{sid:int}/review", g(self.review), methods=["POST"]),
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
