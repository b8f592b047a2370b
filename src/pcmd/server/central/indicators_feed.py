"""An OData service of the stored indicator values, beside the forms' services, so Excel and
Power BI read the programme's numbers as they read submissions:
`GET /v1/projects/1/indicators.svc`, `…/$metadata` and `…/IndicatorValues` with `$top $skip
$count $filter $select` (filter on `programme`, `indicator`, `org_unit`, `period`, `status`).
One row per indicator × org unit × period as the pipeline stored it; a reader sees the units
inside their scope only (a commune officer: their communes, not the province's total).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import IndicatorValue, OrgUnit, utcnow
from pcmd.server.accounts import Scope
from pcmd.server.central.auth import Central
from pcmd.server.central.odata_filter import Column, compile_filter, parse_filter
from pcmd.server.central.odata_options import read_options
from pcmd.server.central.odata_rows import central_time
from pcmd.server.central.problems import Problem

NS = "org.pcmd.indicators"
JSON_TYPE = "application/json; odata.metadata=minimal"
HEADERS = {"OData-Version": "4.0"}
PROPERTIES = (
    ("programme", "Edm.String"),
    ("indicator", "Edm.String"),
    ("org_unit", "Edm.String"),
    ("period", "Edm.String"),
    ("numerator", "Edm.Double"),
    ("denominator", "Edm.Double"),
    ("value", "Edm.Double"),
    ("target", "Edm.Double"),
    ("status", "Edm.String"),
    ("computed_at", "Edm.DateTimeOffset"),
)
COLUMNS = {
    "programme": Column(IndicatorValue.programme, "text"),
    "indicator": Column(IndicatorValue.indicator, "text"),
    "org_unit": Column(IndicatorValue.org_code, "text"),
    "period": Column(IndicatorValue.period, "text"),
    "status": Column(IndicatorValue.status, "text"),
}


def indicators_edmx() -> str:
    props = "".join(f'        <Property Name="{n}" Type="{t}"/>\n' for n, t in PROPERTIES)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
        "  <edmx:DataServices>\n"
        f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{NS}">\n'
        '      <EntityType Name="IndicatorValues">\n'
        '        <Key><PropertyRef Name="__id"/></Key>\n'
        '        <Property Name="__id" Type="Edm.String"/>\n'
        f"{props}"
        "      </EntityType>\n"
        '      <EntityContainer Name="indicators">\n'
        f'        <EntitySet Name="IndicatorValues" EntityType="{NS}.IndicatorValues"/>\n'
        "      </EntityContainer>\n"
        "    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>"
    )


def row_json(value: IndicatorValue) -> dict[str, Any]:
    return {
        "__id": f"{value.programme}/{value.indicator}/{value.org_code}/{value.period}",
        "programme": value.programme,
        "indicator": value.indicator,
        "org_unit": value.org_code,
        "period": value.period,
        "numerator": value.numerator,
        "denominator": value.denominator,
        "value": value.value,
        "target": value.target,
        "status": value.status,
        "computed_at": central_time(value.computed_at),
    }


def in_scope(scope: Scope) -> ColumnElement[bool] | None:
    """Values of the units the reader sees: their own units and the communes under them."""
    if scope.everywhere:
        return None
    unit = aliased(OrgUnit)
    below = select(unit.code).where(unit.parent_code.in_(scope.org_codes))
    return or_(IndicatorValue.org_code.in_(scope.org_codes), IndicatorValue.org_code.in_(below))


class IndicatorsFeed:
    def __init__(self, central: Central) -> None:
        self.central = central

    def url(self, request: Request) -> str:
        pid = request.path_params["pid"]
        return f"{self.central.settings.base_url}/v1/projects/{pid}/indicators.svc"

    async def service(self, request: Request, _scope: Scope) -> Response:
        self.central.project(request.path_params["pid"])
        body = {
            "@odata.context": f"{self.url(request)}/$metadata",
            "value": [{"name": "IndicatorValues", "kind": "EntitySet", "url": "IndicatorValues"}],
        }
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    async def metadata(self, request: Request, _scope: Scope) -> Response:
        self.central.project(request.path_params["pid"])
        return Response(indicators_edmx(), media_type="application/xml", headers=HEADERS)

    def _query(self, scope: Scope, text: str | None) -> Select[IndicatorValue]:
        query = select(IndicatorValue)
        scoped = in_scope(scope)
        if scoped is not None:
            query = query.where(scoped)
        if text:
            query = query.where(compile_filter(parse_filter(text), COLUMNS, text, utcnow()))
        return query

    async def values(self, request: Request, scope: Scope) -> Response:
        self.central.project(request.path_params["pid"])
        options = read_options(request.query_params, ())
        if options.skiptoken is not None or options.expand:
            raise Problem(501.1, "Không hỗ trợ $skiptoken/$expand ở đây (not supported here).")
        names = {n for n, _t in PROPERTIES} | {"__id"}
        wanted = [p.strip() for p in (options.select or "").split(",") if p.strip()]
        for name in wanted:
            if name not in names:
                raise Problem(
                    400.23,
                    f"Trường {name!r} trong $select không có (no field {name!r}): use "
                    f"{', '.join(sorted(names))}.",
                )

        def load(session: Session) -> tuple[list[dict[str, Any]], int | None, bool]:
            query = self._query(scope, options.filter)
            total = (
                session.scalar(select(func.count()).select_from(query.subquery()))
                if options.count
                else None
            )
            query = query.order_by(
                IndicatorValue.period, IndicatorValue.org_code, IndicatorValue.indicator,
                IndicatorValue.id,
            ).offset(options.skip)  # fmt: skip
            if options.top is not None:
                query = query.limit(options.top + 1)
            rows = [row_json(v) for v in session.scalars(query)]
            more = options.top is not None and len(rows) > options.top
            return rows[: options.top] if options.top is not None else rows, total, more

        def run() -> tuple[list[dict[str, Any]], int | None, bool]:
            with transaction(self.central.engine) as session:
                return load(session)

        rows, total, more = await run_in_threadpool(run)
        if wanted:
            rows = [{k: r[k] for k in wanted} for r in rows]
        body: dict[str, Any] = {
            "@odata.context": f"{self.url(request)}/$metadata#IndicatorValues",
            "value": rows,
        }
        if more:
            pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "$skip"]
            pairs.append(("$skip", str(options.skip + (options.top or 0))))
            body["@odata.nextLink"] = f"{self.url(request)}/IndicatorValues?{urlencode(pairs)}"
        if total is not None:
            body["@odata.count"] = total
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    def routes(self) -> list[BaseRoute]:
        base = "/v1/projects/{pid:int}/indicators.svc"
        ep = self.central.endpoint
        return [
            Route(base, ep(self.service), methods=["GET"]),
            Route(f"{base}/$metadata", ep(self.metadata), methods=["GET"]),
            Route(f"{base}/IndicatorValues", ep(self.values), methods=["GET"]),
        ]
