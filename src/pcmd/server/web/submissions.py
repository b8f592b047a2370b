"""The submissions list: filters (form, province and commune pickers, review state, issue
family, dates), keyset paging, selecting many for one review action, and the submissions an
indicator's number is made of (its drill-down, which says what it lists)."""

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
from pcmd.db.models import Form, OrgUnit
from pcmd.errors import PcmdError
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.pipeline.indicators.drill import DrillDown, drill_down
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import NotVisible, Web
from pcmd.server.web.figures import data_version
from pcmd.server.web.issue_words import FAMILIES, family_name
from pcmd.server.web.listing import (
    Filters,
    build_query,
    count_among,
    count_capped,
    load_page,
    load_page_among,
)

KEYS = ("form", "province", "commune", "state", "family", "issues", "from", "to", "period")


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None  # an id fits in 64 bits


class SubmissionPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def submissions(self, request: Request, user: Scope) -> Response:
        q = request.query_params
        shown = {k: q.get(k, "") for k in (*KEYS, "ids", "indicator", "org")}
        lang = self.web.lang(request)
        errors: list[str] = []
        filters = Filters(
            form=shown["form"],
            province=shown["province"] if user.everywhere else "",
            commune=shown["commune"],
            state=shown["state"],
            family=shown["family"] if shown["family"] in FAMILIES else "",
            issues=shown["issues"] == "1",
            date_from=_date(shown["from"]),
            date_to=_date(shown["to"]),
            ids=[i for i in (_id(t) for t in shown["ids"].split(",")) if i is not None],
            after=_id(q.get("after", "")),
        )
        for key in ("from", "to"):
            if shown[key] and _date(shown[key]) is None:
                errors.append(i18n.text("bad_date", lang).format(value=shown[key]))
        if shown["period"]:
            try:
                period = parse_period(shown["period"])
                filters.date_from = max(filters.date_from or period.start, period.start)
                filters.date_to = min(filters.date_to or period.end, period.end)
            except PeriodError:
                errors.append(i18n.text("bad_period", lang).format(value=shown["period"]))

        def load() -> dict[str, Any]:
            with transaction(self.web.engine) as session:
                return self._list(session, user, filters, shown, lang)

        data = await run_in_threadpool(load)

        def next_url(after: int) -> str:
            params = {k: v for k, v in q.items() if k != "after"}
            return "/submissions?" + urlencode({**params, "after": after})

        first = "/submissions?" + urlencode({k: v for k, v in q.items() if k != "after"})
        return self.web.render(
            request,
            "submissions.html",
            {
                "user": user,
                "nav": "submissions",
                "filters": shown,
                "after": filters.after,
                "next_url": next_url,
                "first_url": first,
                "states": i18n.REVIEW_STATES,
                "families": [(k, family_name(k, lang)) for k in FAMILIES],
                "errors": errors,
                "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                **data,
            },
        )

    def _list(
        self, session: Session, user: Scope, filters: Filters, shown: dict[str, str], lang: str
    ) -> dict[str, Any]:
        communes = self.web.scoped_communes(session, user)
        drill: DrillDown | None = None
        if shown["indicator"] and shown["org"] and shown["period"]:
            drill = self._drill(session, user, shown)
        query = build_query(filters, communes)
        # the capped count is the same for every page and user of these filters: kept per data
        # version (figures.py), it is not counted again for each page and user
        compiled = query.compile()
        key = (
            "count",
            str(compiled),
            tuple(
                (k, tuple(v) if isinstance(v, list) else v)
                for k, v in sorted(compiled.params.items())
            ),
            tuple(shown[k] for k in ("indicator", "org", "period")) if drill else None,
        )
        version = data_version(session.connection())
        if drill is None:
            total = self.web.figures.get(key, version, lambda: count_capped(session, query))
            page = load_page(session, query, filters.after, total)
        else:  # the drill-down's ids are walked in slices, newest first (keyset too)
            ids = drill.ids
            total = self.web.figures.get(key, version, lambda: count_among(session, query, ids))
            page = load_page_among(session, query, ids, filters.after, total)
        return {
            "rows": page.rows,
            "total": page.total,
            "capped": page.capped,
            "cap": page.cap,
            "next_after": page.next_after,
            "drill_what": (drill.what_vi if lang == "vi" else drill.what_en) if drill else "",
            "provinces": self._provinces(session, user),
            "communes": self._communes(session, user, communes, filters.province),
            "forms": session.execute(select(Form.form_id, Form.title).order_by(Form.title)).all(),
        }

    @staticmethod
    def _provinces(session: Session, user: Scope) -> list[Any]:
        if not user.everywhere:
            return []
        return list(
            session.execute(
                select(OrgUnit.code, OrgUnit.name)
                .where(OrgUnit.level == "province", OrgUnit.valid_to.is_(None))
                .order_by(OrgUnit.name)
            ).all()
        )

    @staticmethod
    def _communes(
        session: Session, user: Scope, communes: list[str] | None, province: str
    ) -> list[Any]:
        """The commune picker: the user's communes, or a chosen province's for a national user."""
        query = select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.level == "commune", OrgUnit.valid_to.is_(None)
        )
        if communes is not None:
            query = query.where(OrgUnit.code.in_(communes))
        elif province:
            query = query.where(OrgUnit.parent_code == province)
        else:
            return []  # a national user picks a province first
        return list(session.execute(query.order_by(OrgUnit.name)).all())

    def _drill(self, session: Session, user: Scope, shown: dict[str, str]) -> DrillDown:
        """The records behind an indicator's numerator for a unit the user may see (else 404)."""
        org = shown["org"]
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
        conn = session.connection()
        try:
            # read from what the pipeline stores: kept until its next run (figures.py)
            return self.web.figures.get(
                ("drill", shown["indicator"], shown["period"], org),
                data_version(conn, submissions=False),
                lambda: drill_down(
                    conn,
                    indicator=shown["indicator"],
                    period=shown["period"],
                    org=org,
                    programme=DEFAULT_PROGRAMME,
                ),
            )
        except (PeriodError, PcmdError):
            return DrillDown([], "", "")

    def routes(self) -> list[BaseRoute]:
        return [Route("/submissions", self.web.guarded(self.submissions))]
