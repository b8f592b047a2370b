"""The reports page: the Excel workbook, its CSV tables and DHIS2 JSON for a unit and period."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import PcmdError
from pcmd.reports.build import FORMATS, dhis2_mapping, render, report_data
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web
from pcmd.server.web.dashboard import DashboardPages


class ReportPages:
    def __init__(self, web: Web, dashboard: DashboardPages) -> None:
        self.web = web
        self.dashboard = dashboard

    async def page(self, request: Request, user: Scope) -> Response:
        def units() -> list[tuple[str, str]]:
            with transaction(self.web.engine) as session:
                return self.dashboard.unit_choices(session, user)

        choices = await run_in_threadpool(units)
        today = dt.date.today()
        quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
        return self.web.render(
            request,
            "reports.html",
            {
                "user": user,
                "nav": "reports",
                "units": choices,
                "quarter": quarter,
                "year": str(today.year),
                "error": request.query_params.get("error"),
            },
        )

    async def download(self, request: Request, user: Scope) -> Response:
        q = request.query_params
        org, period, fmt = q.get("org", ""), q.get("period", ""), q.get("format", "xlsx")
        if fmt not in FORMATS:
            fmt = "xlsx"

        def build() -> bytes:
            cover = self.web.settings.report
            with transaction(self.web.engine) as session:
                self.dashboard.check_unit(session, user, org)
                mapping = dhis2_mapping(session, cover.dhis2_mapping) if fmt == "dhis2" else None
                data = report_data(session, org, period, dt.date.today(), cover)
            return render(data, fmt, mapping)

        def units() -> list[tuple[str, str]]:
            with transaction(self.web.engine) as session:
                return self.dashboard.unit_choices(session, user)

        try:
            content = await run_in_threadpool(build)
        except PcmdError as exc:
            return self.web.render(
                request,
                "reports.html",
                {
                    "user": user,
                    "nav": "reports",
                    "units": await run_in_threadpool(units),
                    "quarter": period,
                    "year": "",
                    "error": exc.message,
                },
                400,
            )
        media_type, ext = FORMATS[fmt]
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="bao-cao-pcmd-{org}-{period}.{ext}"'
            },
        )

    def routes(self) -> list[BaseRoute]:
        g = self.web.guarded
        return [Route("/reports", g(self.page)), Route("/reports/download", g(self.download))]
