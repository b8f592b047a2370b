"""Every province side by side, for a national user: records, those awaiting review, those with
an open error, and the last one received — one row per province, each linking to its list.

Counted by commune from the submissions table in one grouped pass (and one for open errors),
then rolled up to provinces by the org-unit tree; a province with no record still has its row.
The summary is kept per data version (server/web/figures.py): one pass per change, not per
request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit, Submission, ValidationIssue
from pcmd.errors import AuthError
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web
from pcmd.server.web.figures import data_version

PENDING = ("received", "has_issues", "edited")  # states a reviewer still has to look at


@dataclass
class ProvinceRow:
    code: str
    name: str
    records: int = 0
    pending: int = 0
    with_errors: int = 0
    last_received: dt.datetime | None = None


def province_summary(session: Session) -> list[ProvinceRow]:
    """One row per province in force (by name), and the whole country's row last."""
    provinces = {
        code: ProvinceRow(code, name)
        for code, name in session.execute(
            select(OrgUnit.code, OrgUnit.name)
            .where(OrgUnit.level == "province", OrgUnit.valid_to.is_(None))
            .order_by(OrgUnit.name)
        )
    }
    communes: list[Any] = list(
        session.execute(
            select(OrgUnit.code, OrgUnit.parent_code).where(OrgUnit.level == "commune")
        ).all()
    )
    parent: dict[str, str] = {code: province for code, province in communes if province}
    pending = func.sum(case((Submission.review_state.in_(PENDING), 1), else_=0))
    live = Submission.deleted.is_(False)
    # Grouped on an expression, not the column: SQLite would otherwise walk the commune index
    # and look every row up in the table (3× the CPU of one pass over the table at a million).
    commune = func.coalesce(Submission.commune_code, "")
    by_commune: list[Any] = list(
        session.execute(
            select(commune, func.count(), pending, func.max(Submission.submitted_at))
            .where(live)
            .group_by(commune)
        ).all()
    )
    for commune, records, waiting, last in by_commune:
        row = provinces.get(parent.get(commune or "", ""))
        if row is None:
            continue
        row.records += int(records)
        row.pending += int(waiting or 0)
        if last is not None and (row.last_received is None or last > row.last_received):
            row.last_received = last
    # From the open errors to their records (a few thousand look-ups by id), not from every
    # record to its issues (a million).
    errors: list[Any] = list(
        session.execute(
            select(Submission.commune_code, func.count(func.distinct(Submission.id)))
            .select_from(ValidationIssue)
            .join(
                Submission,
                and_(
                    Submission.id == ValidationIssue.submission_id,
                    Submission.current_version_id == ValidationIssue.version_id,
                ),
            )
            .where(live, ValidationIssue.status == "open", ValidationIssue.severity == "error")
            .group_by(Submission.commune_code)
        ).all()
    )
    for commune, n in errors:
        row = provinces.get(parent.get(commune or "", ""))
        if row is not None:
            row.with_errors += int(n)
    rows = list(provinces.values())
    total = ProvinceRow("VN", "")
    for row in rows:
        total.records += row.records
        total.pending += row.pending
        total.with_errors += row.with_errors
        if row.last_received and (
            total.last_received is None or row.last_received > total.last_received
        ):
            total.last_received = row.last_received
    return [*rows, total]


class ProvincePages:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def page(self, request: Request, user: Scope) -> Response:
        if not user.everywhere:
            raise AuthError("forbidden", status=403)

        def summary() -> list[ProvinceRow]:
            with transaction(self.web.engine) as session:
                return province_summary(session)

        def load() -> list[ProvinceRow]:
            with self.web.engine.connect() as conn:
                version = data_version(conn)
            # one grouped pass over every record: done once per data version, not per request
            return self.web.figures.get(("provinces",), version, summary)

        rows = await run_in_threadpool(load)
        return self.web.render(
            request,
            "provinces.html",
            {"user": user, "nav": "provinces", "rows": rows[:-1], "total": rows[-1]},
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/provinces", self.web.guarded(self.page))]
