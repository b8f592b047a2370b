"""The dashboard: every indicator of the programme for the user's unit and a period, its trend
by quarter, and a commune breakdown that shows at a glance who falls behind. A number links to
the submissions it is made of (its provenance).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.indicators.year_to_date import year_to_date_rows
from pcmd.pipeline.programmes import active_programmes
from pcmd.reports.charts import Bar, bar_chart, trend_chart
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web
from pcmd.server.web.figures import data_version
from pcmd.server.web.reminder_notice import missing_notice

CHART_UNITS = 30  # the chart shows the units furthest behind; the table below has them all
STATUS_TEXT = {
    "met": {"vi": "Đạt", "en": "Met"},
    "not_met": {"vi": "Chưa đạt", "en": "Not met"},
    "no_target": {"vi": "Chưa giao chỉ tiêu", "en": "No target"},
    "no_data": {"vi": "Chưa có số liệu", "en": "No data"},
}
# English names for the default programme's indicators (what each counts); a province plan's
# own indicators show their (Vietnamese) name in both languages.
NAMES_EN = {
    "TT1": "Communes with at least one outreach activity",
    "TT2": "Months with media coverage",
    "TT3A": "Establishment workers reached",
    "TT3B": "Industrial-zone workers reached",
    "TT3C": "Students reached",
    "KT1": "Registered establishments inspected",
    "KT2": "Inspections finding violations",
    "DT1": "Provincial officials trained",
    "DT2": "Commune officials trained",
    "HD1": "Outreach activities",
    "HD2": "People reached (contacts)",
    "HD3": "Trainings",
    "HD4": "Inspections",
    "HD5": "Fines (VND)",
    "BC1": "Communes reporting",
    "TG1": "Denunciations, crime reports and complaints handled in time",
    "TG2": "Denunciations, crime reports and complaints received",
    "TG3": "Denunciations overdue, not handled",
    "TP1": "Prostitution-related criminal cases prosecuted",
    "TP2": "Change in criminal cases prosecuted on the same period a year earlier",
    "HT1": "Sex workers in need and eligible reached by support services",
    "HT2": "Support services given to sex workers",
    "KH1": "Communes with a prostitution-prevention plan",
    "KH2": "Communes integrating prostitution prevention in other programmes",
    "BC2": "Monthly reports on time",
}


def unit_ancestors(session: Session, code: str) -> tuple[str, list[str]] | None:
    """(name, ancestor codes) of an org unit in force, or None."""
    unit = session.execute(
        select(OrgUnit.name, OrgUnit.parent_code).where(
            OrgUnit.code == code, OrgUnit.valid_to.is_(None)
        )
    ).first()
    if unit is None:
        return None
    ancestors = []
    parent = unit.parent_code
    while parent:
        ancestors.append(parent)
        parent = session.scalar(
            select(OrgUnit.parent_code).where(OrgUnit.code == parent, OrgUnit.valid_to.is_(None))
        )
    return unit.name, ancestors


class DashboardPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def check_unit(self, session: Session, user: Scope, org: str) -> str:
        found = unit_ancestors(session, org)
        if found is None or not user.sees_unit(org, found[1]):
            raise NotVisible
        return found[0]

    def default_org(self, user: Scope) -> str:
        if user.everywhere:
            return "VN"
        return sorted(user.org_codes, key=len)[0]

    def unit_choices(self, session: Session, user: Scope) -> list[tuple[str, str]]:
        query = select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.valid_to.is_(None), OrgUnit.level.in_(("country", "province"))
        )
        rows = [(c, n) for c, n in session.execute(query.order_by(OrgUnit.code)).all()]
        if user.everywhere:
            return rows
        mine = session.execute(
            select(OrgUnit.code, OrgUnit.name).where(
                OrgUnit.valid_to.is_(None), OrgUnit.code.in_(user.org_codes)
            )
        ).all()
        return [(c, n) for c, n in mine]

    def load(self, user: Scope, org: str, period: str, focus: str, lang: str) -> dict[str, Any]:
        """The page's figures for a unit the user sees: kept per data version (figures.py), as
        they are the same for every user who sees the unit."""
        with transaction(self.web.engine) as session:
            unit_name = self.check_unit(session, user, org)
            choices = self.unit_choices(session, user)
            version = data_version(session.connection(), submissions=False)
        figures = self.web.figures.get(
            ("dashboard", org, period, focus, lang),
            version,
            lambda: self.figures(org, period, focus, lang),
        )
        return {**figures, "unit_name": unit_name, "units": choices}

    def figures(self, org: str, period: str, focus: str, lang: str) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            conn = session.connection()
            programme = active_programmes(conn)[DEFAULT_PROGRAMME]
            rows = indicator_rows(conn, period=period, org=org)
            # Quarters and months: the year so far beside the period (DESIGN §8b).
            ytd = {r["indicator"]: r for r in year_to_date_rows(conn, period=period, org=org)}
            level = session.scalar(
                select(OrgUnit.level).where(OrgUnit.code == org, OrgUnit.valid_to.is_(None))
            )
            breakdown_level = {"country": "province", "province": "commune"}.get(level or "")
            breakdown = (
                indicator_rows(conn, period=period, org=org, level=breakdown_level)
                if breakdown_level
                else []
            )
            child_names = {
                row.code: row.name
                for row in session.execute(
                    select(OrgUnit.code, OrgUnit.name).where(
                        OrgUnit.parent_code == org, OrgUnit.valid_to.is_(None)
                    )
                )
            }
            parsed = parse_period(period)
            quarters = [f"{y}Q{q}" for y in parsed.years() for q in (1, 2, 3, 4)]
            quarters = [q for q in quarters if parse_period(q).start <= dt.date.today()][-8:]
            trend = {q: indicator_rows(conn, period=q, org=org) for q in quarters}
        names = {i.id: i.name for i in programme.indicators}
        for row in rows:
            row["name"] = names.get(row["indicator"], row["indicator"])
            if lang == "en":
                row["name"] = NAMES_EN.get(row["indicator"], row["name"])
            row["status_text"] = STATUS_TEXT[row["status"]][lang]
            row["shown"] = self.shown(row, lang)
            if row["indicator"] in ytd:
                so_far = ytd[row["indicator"]]
                so_far["shown"] = self.shown(so_far, lang)
                so_far["status_text"] = STATUS_TEXT[so_far["status"]][lang]
                row["ytd"] = so_far
            row["trend_svg"] = trend_chart(
                [
                    (
                        q[4:],
                        self.value_of(trend[q], row["indicator"]),
                        i18n.number(self.value_of(trend[q], row["indicator"]), lang),
                    )
                    for q in quarters
                ],
                target=row["target"],
                title=row["indicator"],
            )
            row["provenance"] = "/submissions?" + urlencode(
                {"indicator": row["indicator"], "org": org, "period": period}
            )
        focus = focus if focus in names else (rows[0]["indicator"] if rows else "")
        focus_rows = sorted(
            (r for r in breakdown if r["indicator"] == focus),
            key=lambda r: (r["value"] is None, r["value"] if r["value"] is not None else 0),
        )
        for r in focus_rows:
            r["name"] = child_names.get(r["org_unit"], r["org_unit"])
            r["status_text"] = STATUS_TEXT[r["status"]][lang]
            r["shown"] = self.shown(r, lang)
            r["provenance"] = "/submissions?" + urlencode(
                {"indicator": focus, "org": r["org_unit"], "period": period}
            )
        target = next((r["target"] for r in focus_rows if r["target"] is not None), None)
        chart = (
            bar_chart(
                [
                    Bar(r["name"], r["value"], r["status"], r["shown"], r["provenance"])
                    for r in focus_rows[:CHART_UNITS]
                ],
                target=target,
                title=focus,
            )
            if focus_rows
            else ""
        )
        return {
            "org": org,
            "period": period,
            "rows": rows,
            "has_ytd": bool(ytd),
            "focus": focus,
            "focus_rows": focus_rows,
            "breakdown_chart": chart,
            "indicator_ids": list(names),
        }

    @staticmethod
    def value_of(rows: list[dict[str, Any]], indicator: str) -> float | None:
        for row in rows:
            if row["indicator"] == indicator:
                value = row["value"]
                return None if value is None else float(value)
        return None

    @staticmethod
    def shown(row: dict[str, Any], lang: str) -> str:
        if row["value"] is None:
            return "—"
        if row["unit"] == "percent":
            return i18n.number(row["value"], lang, 1) + "%"
        return i18n.number(row["value"], lang)

    async def page(self, request: Request, user: Scope) -> Response:
        q = request.query_params
        org = q.get("org") or self.default_org(user)
        period = q.get("period") or str(dt.date.today().year)
        lang = self.web.lang(request)
        try:
            parse_period(period)
            data = await run_in_threadpool(self.load, user, org, period, q.get("focus", ""), lang)
        except (PeriodError, PipelineError) as exc:
            return self.web.render(
                request,
                "dashboard.html",
                {
                    "user": user,
                    "nav": "dashboard",
                    "error": str(exc),
                    "org": org,
                    "period": period,
                    "rows": [],
                    "units": [],
                    "focus_rows": [],
                    "unit_name": org,
                    "indicator_ids": [],
                    "focus": "",
                },
            )
        # no mail server: the missing monthly reports are reminded here (jobs/reminders.py)
        data["reminder"] = await run_in_threadpool(missing_notice, self.web, user)
        return self.web.render(
            request, "dashboard.html", {"user": user, "nav": "dashboard", **data}
        )

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [
            Route("/dashboard", g(self.page)),
        ]
