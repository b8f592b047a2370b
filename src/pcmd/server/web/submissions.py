"""The submissions list: filters, paging, and the submissions an indicator's number is made of
(its provenance)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import (
    Form,
    OrgUnit,
    Submission,
    ValidationIssue,
)
from pcmd.errors import PcmdError
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web

PAGE_SIZE = 50


MAX_PAGE = 1_000_000


class SubmissionPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def submissions(self, request: Request, user: Scope) -> Response:
        q = request.query_params
        filters = {
            "form": q.get("form", ""),
            "commune": q.get("commune", ""),
            "period": q.get("period", ""),
            "state": q.get("state", ""),
            "issues": q.get("issues", "") == "1",
            "ids": q.get("ids", ""),
            # provenance: the submissions an indicator's numerator is made of
            "indicator": q.get("indicator", ""),
            "org": q.get("org", ""),
        }
        try:
            # beyond the last page is an empty page, never an offset the database cannot hold
            page = min(max(1, int(q.get("page", "1"))), MAX_PAGE)
        except ValueError:
            page = 1
        lang = self.web.lang(request)

        def load() -> dict[str, Any]:
            with transaction(self.web.engine) as session:
                return self._list(session, user, filters, page, lang)

        data = await run_in_threadpool(load)

        def page_url(n: int) -> str:
            params = {k: v for k, v in q.items() if k != "page"}
            return "/submissions?" + urlencode({**params, "page": n})

        return self.web.render(
            request,
            "submissions.html",
            {
                "user": user,
                "nav": "submissions",
                "filters": filters,
                "page": page,
                "page_url": page_url,
                "states": i18n.REVIEW_STATES,
                **data,
            },
        )

    def _list(
        self, session: Session, user: Scope, filters: dict[str, Any], page: int, lang: str
    ) -> dict[str, Any]:
        communes = self.web.scoped_communes(session, user)
        errors = func.sum(case((ValidationIssue.severity == "error", 1), else_=0))
        warnings = func.sum(case((ValidationIssue.severity == "warning", 1), else_=0))
        issue_counts = (
            select(
                ValidationIssue.submission_id.label("sid"),
                errors.label("errors"),
                warnings.label("warnings"),
            )
            .join(Submission, Submission.id == ValidationIssue.submission_id)
            .where(
                ValidationIssue.version_id == Submission.current_version_id,
                ValidationIssue.status == "open",
            )
            .group_by(ValidationIssue.submission_id)
            .subquery()
        )
        query = (
            select(
                Submission.id,
                Submission.activity_date,
                Submission.commune_code,
                Submission.review_state,
                Submission.submitted_at,
                Form.title.label("form_title"),
                OrgUnit.name.label("commune_name"),
                func.coalesce(issue_counts.c.errors, 0).label("errors"),
                func.coalesce(issue_counts.c.warnings, 0).label("warnings"),
            )
            .join(Form, Form.id == Submission.form_pk)
            .outerjoin(
                OrgUnit, (OrgUnit.code == Submission.commune_code) & OrgUnit.valid_to.is_(None)
            )
            .outerjoin(issue_counts, issue_counts.c.sid == Submission.id)
            .where(Submission.deleted.is_(False))
        )
        error = None
        if communes is not None:
            query = query.where(Submission.commune_code.in_(communes))
        if filters["form"]:
            query = query.where(Form.form_id == filters["form"])
        if filters["commune"]:
            query = query.where(Submission.commune_code == filters["commune"])
        if filters["state"] in i18n.REVIEW_STATES:
            query = query.where(Submission.review_state == filters["state"])
        if filters["issues"]:
            query = query.where(issue_counts.c.sid.is_not(None))
        if filters["ids"]:
            ids = [
                int(i)
                for i in filters["ids"].split(",")
                if i.strip().isdigit() and len(i.strip()) <= 18  # an id fits in 64 bits
            ]
            query = query.where(Submission.id.in_(ids))
        if filters["indicator"] and filters["org"] and filters["period"]:
            query = query.where(Submission.id.in_(self._provenance(session, user, filters)))
        if filters["period"]:
            try:
                period = parse_period(filters["period"])
                query = query.where(
                    Submission.activity_date >= period.start,
                    Submission.activity_date <= period.end,
                )
            except PeriodError:
                error = (
                    f"Kỳ {filters['period']!r} không hợp lệ; ví dụ 2026, 2026Q3, 202609, "
                    "2021-2025 (invalid period)."
                )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(Submission.activity_date.desc(), Submission.id.desc())
            .limit(PAGE_SIZE + 1)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        commune_choices = session.execute(
            select(OrgUnit.code, OrgUnit.name)
            .where(
                OrgUnit.level == "commune",
                OrgUnit.valid_to.is_(None),
                OrgUnit.code.in_(select(Submission.commune_code).distinct()),
            )
            .order_by(OrgUnit.name)
        ).all()
        if communes is not None:
            allowed = set(communes)
            commune_choices = [c for c in commune_choices if c.code in allowed]
        forms = session.execute(select(Form.form_id, Form.title).order_by(Form.title)).all()
        return {
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "total": total,
            "communes": commune_choices,
            "forms": forms,
            "error": error,
        }

    def _provenance(self, session: Session, user: Scope, filters: dict[str, Any]) -> list[int]:
        """Ids behind an indicator's numerator for a unit the user may see (else a 404)."""
        from pcmd.pipeline.indicators.query import submission_ids

        org = filters["org"]
        unit = session.execute(
            select(OrgUnit.level, OrgUnit.parent_code).where(
                OrgUnit.code == org, OrgUnit.valid_to.is_(None)
            )
        ).first()
        if unit is None:
            raise NotVisible
        ancestors = [unit.parent_code] if unit.parent_code else []
        if unit.level == "commune" and unit.parent_code:
            ancestors.append("VN")
        if not user.sees_unit(org, ancestors):
            raise NotVisible
        try:
            return submission_ids(
                session.connection(),
                indicator=filters["indicator"],
                period=filters["period"],
                org=org,
            )
        except (PeriodError, PcmdError):
            return []

    def routes(self) -> list[BaseRoute]:
        return [Route("/submissions", self.web.guarded(self.submissions))]
