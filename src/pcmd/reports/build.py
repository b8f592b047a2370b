"""Gather a unit's report for a period from the database (the I/O side of reports/excel.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from pcmd.db.models import Form, OrgUnit
from pcmd.errors import ReportError
from pcmd.masterdata.periods import parse_period
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.programmes import active_programmes
from pcmd.reports.excel import FormRows, ReportData
from pcmd.reports.submissions import submissions_table

REPORT_PERIODS = ("quarter", "year")


def report_data(session: Session, org: str, period: str, today: dt.date) -> ReportData:
    parsed = parse_period(period)
    if parsed.kind not in REPORT_PERIODS:
        raise ReportError(
            f"Báo cáo lập theo quý (YYYYQn) hoặc năm (YYYY), không theo {period!r} (reports are "
            "quarterly or annual: use e.g. 2026Q3 or 2026)."
        )
    unit = session.execute(
        select(OrgUnit.name, OrgUnit.level).where(OrgUnit.code == org, OrgUnit.valid_to.is_(None))
    ).first()
    if unit is None:
        raise ReportError(f"Không có đơn vị {org!r} đang hiệu lực (no org unit {org!r} in force).")
    conn: Connection = session.connection()
    programme = active_programmes(conn)[DEFAULT_PROGRAMME]
    rows = indicator_rows(conn, period=period, org=org)
    below = {"country": "province", "province": "commune"}.get(unit.level)
    breakdown = indicator_rows(conn, period=period, org=org, level=below) if below else []
    communes_query = select(OrgUnit.code).where(
        OrgUnit.level == "commune", OrgUnit.valid_to.is_(None)
    )
    if unit.level == "province":
        communes_query = communes_query.where(OrgUnit.parent_code == org)
    communes = [org] if unit.level == "commune" else list(session.scalars(communes_query))
    names = {
        row.code: row.name
        for row in session.execute(
            select(OrgUnit.code, OrgUnit.name).where(OrgUnit.valid_to.is_(None))
        )
    }
    forms = []
    for form_id in session.scalars(select(Form.form_id).order_by(Form.form_id)):
        table = submissions_table(
            session,
            form_id,
            communes=communes,
            start=parsed.start,
            end=parsed.end,
            counted_only=True,
        )
        forms.append(FormRows(form_id, table.columns, list(table.rows)))
    return ReportData(
        unit_code=org,
        unit_name=unit.name,
        period=period,
        produced=today,
        indicators=rows,
        names={i.id: i.name for i in programme.indicators},
        breakdown=breakdown,
        commune_names=names,
        forms=forms,
    )
