"""The case page (Vụ việc): every case of the user's units with its status, deadline and days
left, overdue ones in red, and its steps as a timeline (DESIGN §6b, deadline rule §8b)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit
from pcmd.forms.case_list import CaseView, load_cases
from pcmd.masterdata.periods import vietnam_today
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web

# What a case's status and a step are called on the page.
STATUS = {
    "tiep_nhan": ("Mới tiếp nhận", "Received"),
    "xac_minh": ("Đang xác minh", "Being verified"),
    "phan_loai": ("Đã phân loại", "Classified"),
    "gia_han": ("Đã gia hạn", "Time limit extended"),
    "xu_ly_xong": ("Đã xử lý xong", "Handled"),
    "chuyen": ("Đã chuyển cơ quan khác", "Transferred to another agency"),
}
STEP = {
    "xac_minh": ("Xác minh", "Verification"),
    "phan_loai": ("Phân loại", "Classification"),
    "gia_han": ("Gia hạn", "Extension"),
    "xu_ly_xong": ("Xử lý xong", "Handled"),
    "chuyen": ("Chuyển cơ quan khác", "Transferred"),
}


@dataclass(frozen=True)
class CaseLine:
    view: CaseView
    commune_name: str
    days_left: int | None  # None: handled (or no date)

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0


class CasePages:
    def __init__(self, web: Web) -> None:
        self.web = web

    def load(self, user: Scope, today: dt.date) -> dict[str, Any]:
        with transaction(self.web.engine) as session:
            views = load_cases(session.connection())
            units = {
                code: (name, parent)
                for code, name, parent in session.execute(
                    select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_code).where(
                        OrgUnit.level == "commune", OrgUnit.valid_to.is_(None)
                    )
                )
            }
        lines = []
        for view in views:
            name, province = units.get(view.row.commune or "", (view.row.commune or "", None))
            if user.sees(view.row.commune, province):
                lines.append(CaseLine(view, name, view.days_left(today)))
        # overdue first (most overdue on top), then the nearest deadlines, handled last
        lines.sort(key=lambda c: (c.days_left is None, c.days_left or 0))
        return {
            "cases": lines,
            "open": sum(1 for c in lines if c.days_left is not None),
            "overdue": sum(1 for c in lines if c.overdue),
            "today": today,
            "status_words": STATUS,
            "step_words": STEP,
        }

    async def page(self, request: Request, user: Scope) -> Response:
        data = await run_in_threadpool(self.load, user, vietnam_today())
        return self.web.render(request, "cases.html", {"user": user, "nav": "cases", **data})

    def routes(self) -> list[BaseRoute]:
        return [Route("/cases", self.web.guarded(self.page))]
