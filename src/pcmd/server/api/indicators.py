"""GET /api/v1/indicators: the indicator rows of `pcmd indicators` as JSON, within the user's
units."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import PeriodError
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.server.accounts import Scope
from pcmd.server.web.base import NotVisible, Web
from pcmd.server.web.dashboard import DashboardPages
from pcmd.server.web.figures import data_version


class IndicatorsApi:
    def __init__(self, web: Web, dashboard: DashboardPages) -> None:
        self.web = web
        self.dashboard = dashboard

    async def api(self, request: Request, user: Scope) -> Response:
        """GET /api/v1/indicators?period=…&org=…&level=… — the rows of `pcmd indicators`."""
        q = request.query_params
        org = q.get("org", "VN")
        period = q.get("period", "")

        level = q.get("level") or None

        def compute() -> list[dict[str, Any]]:
            return indicator_rows(self.web.engine, period=period, org=org, level=level)

        def load() -> list[dict[str, Any]]:
            with transaction(self.web.engine) as session:
                self.dashboard.check_unit(session, user, org)
                version = data_version(session.connection(), submissions=False)
            # the same rows for every user who sees the unit: kept per data version
            return self.web.figures.get(("api", org, period, level), version, compute)

        try:
            rows = await run_in_threadpool(load)
        except NotVisible:
            return JSONResponse({"error": f"no org unit {org!r} in your scope"}, status_code=404)
        except (PeriodError, PipelineError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(rows)

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/v1/indicators", self.web.guarded(self.api))]
