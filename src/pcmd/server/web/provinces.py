"""Every province side by side, for a national user: records, those awaiting review, those with
an open error, and the last one received — one row per province, each linking to its list.

Counted by commune from the process's columns of every submission (server/web/quality_ledger.py,
brought up to date from what changed), the open errors from the issues to their records, then
rolled up to provinces by the org-unit tree; a province with no record still has its row. The
summary is kept per data version (server/web/figures.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web
from pcmd.server.web.figures import data_version
from pcmd.server.web.ledger_counts import province_counts
from pcmd.server.web.quality_ledger import ledger_of

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
    # counted from the process's columns, brought up to date from what changed since
    ledger = ledger_of(session.get_bind())
    for count in province_counts(ledger, session.connection(), PENDING):
        row = provinces.get(parent.get(count.commune, ""))
        if row is None:
            continue
        row.records += count.records
        row.pending += count.pending
        row.with_errors += count.with_errors
        last = count.last_received
        if last is not None and (row.last_received is None or last > row.last_received):
            row.last_received = last
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
