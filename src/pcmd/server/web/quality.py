"""The data-quality page: who reports, when, and which checks fail, within the user's units."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit
from pcmd.errors import AuthError
from pcmd.pipeline.validate.catalogue import rule_rows
from pcmd.reports.quality import months_of_year
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web
from pcmd.server.web.figures import data_version
from pcmd.server.web.ledger_counts import open_issues, reporting_grid
from pcmd.server.web.quality_ledger import ledger_of


class QualityPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def provinces(self, session: Session, user: Scope) -> list[tuple[str, str]]:
        """Provinces the user can pick: all of theirs, or the province of their communes."""
        query = select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.level == "province", OrgUnit.valid_to.is_(None)
        )
        if not user.everywhere:
            parents = select(OrgUnit.parent_code).where(OrgUnit.code.in_(user.org_codes))
            query = query.where(OrgUnit.code.in_(user.org_codes) | OrgUnit.code.in_(parents))
        return [(c, n) for c, n in session.execute(query.order_by(OrgUnit.name)).all()]

    def load(self, user: Scope, org: str, year: int, today: dt.date) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            provinces = self.provinces(session, user)
            codes = [c for c, _n in provinces]
            if org not in codes:
                if org:
                    raise AuthError("forbidden", status=404)
                org = codes[0] if codes else ""
            communes = [
                (c, n)
                for c, n in session.execute(
                    select(OrgUnit.code, OrgUnit.name)
                    .where(
                        OrgUnit.parent_code == org,
                        OrgUnit.level == "commune",
                        OrgUnit.valid_to.is_(None),
                    )
                    .order_by(OrgUnit.name)
                ).all()
                if user.sees(c, org)
            ]
            version = data_version(session.connection())
        # the same for every user who sees these communes: kept per data version
        grid, issues = self.web.figures.get(
            ("quality", year, today, tuple(communes)),
            version,
            lambda: self.figures(communes, year, today),
        )
        return {
            "provinces": provinces,
            "org": org,
            "year": year,
            "grid": grid,
            "months": months_of_year(year, today),
            "issues": issues,
            # what a rule checks, in words: pages show no rule codes
            "rule_titles": {
                r["code"]: {"vi": r["title_vi"], "en": r["title_en"]} for r in rule_rows()
            },
            "reporting": sum(1 for row in grid if row.records),
        }

    def figures(
        self, communes: list[tuple[str, str]], year: int, today: dt.date
    ) -> tuple[list[Any], list[Any]]:
        """The reporting grid and the open issues by rule of these communes in `year`."""
        visible = [c for c, _n in communes]
        with transaction(self.web.engine) as session:
            # counted from the process's columns, brought up to date from what changed
            ledger = ledger_of(self.web.engine)
            grid = reporting_grid(ledger, session.connection(), communes, year)
            issues = open_issues(ledger, session.connection(), visible, year)
        return grid, list(issues)

    async def page(self, request: Request, user: Scope) -> Response:
        today = dt.date.today()
        try:
            year = int(request.query_params.get("year", today.year))
        except ValueError:
            year = today.year
        if not 2000 <= year <= today.year + 1:
            year = today.year  # no data before the programme or after next year
        org = request.query_params.get("org", "")
        data = await run_in_threadpool(self.load, user, org, year, today)
        return self.web.render(request, "quality.html", {"user": user, "nav": "quality", **data})

    def routes(self) -> list[BaseRoute]:
        return [Route("/quality", self.web.guarded(self.page))]
