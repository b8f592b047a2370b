"""Gather a unit's report for a period from the database and render it (the I/O side of
reports/excel.py and reports/dhis2.py): the CLI and the web page both call `report_data` and
`render`, so they give the same bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from pcmd.db.models import Form, OrgUnit
from pcmd.errors import ReportError
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.indicators.year_to_date import year_to_date_rows
from pcmd.pipeline.programmes import active_programmes
from pcmd.reports import dhis2
from pcmd.reports.excel import ReportData, csv_tables, workbook
from pcmd.reports.labelled import labelled_form
from pcmd.settings.report import ReportSettings

REPORT_PERIODS = ("month", "quarter", "year")
# format → (media type, file extension)
FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("application/zip", "zip"),
    "dhis2": ("application/json", "json"),
}


def report_data(
    session: Session,
    org: str,
    period: str,
    today: dt.date,
    cover: ReportSettings | None = None,
) -> ReportData:
    try:
        parsed = parse_period(period)
    except PeriodError:
        parsed = None
    if parsed is None or parsed.kind not in REPORT_PERIODS:
        raise ReportError(
            f"Báo cáo lập theo tháng (YYYYMM), quý (YYYYQn) hoặc năm (YYYY), không theo "
            f"{period!r} (reports are monthly, quarterly or annual: use e.g. 202607, 2026Q3 "
            "or 2026)."
        )
    unit = session.execute(
        select(OrgUnit.name, OrgUnit.level).where(OrgUnit.code == org, OrgUnit.valid_to.is_(None))
    ).first()
    if unit is None:
        raise ReportError(f"Không có đơn vị {org!r} đang hiệu lực (no org unit {org!r} in force).")
    conn: Connection = session.connection()
    programme = active_programmes(conn)[DEFAULT_PROGRAMME]
    rows = indicator_rows(conn, period=period, org=org, today=today)
    ytd = year_to_date_rows(conn, period=period, org=org, today=today)
    below = {"country": "province", "province": "commune"}.get(unit.level)
    breakdown = (
        indicator_rows(conn, period=period, org=org, level=below, today=today) if below else []
    )
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
    forms = [
        labelled_form(
            session,
            form_id,
            communes=communes,
            start=parsed.start,
            end=parsed.end,
            org_names=names,
        )
        for form_id in session.scalars(select(Form.form_id).order_by(Form.form_id))
    ]
    return ReportData(
        unit_code=org,
        unit_name=unit.name,
        period=parsed.code,
        produced=today,
        indicators=rows,
        names={i.id: i.name for i in programme.indicators},
        breakdown=breakdown,
        commune_names=names,
        forms=forms,
        year_to_date=ytd,
        cover=cover or ReportSettings(),
    )


def dhis2_mapping(session: Session, path: Path | None) -> dhis2.Mapping | None:
    """The DHIS2 mapping file of the settings (`[report] dhis2_mapping`), read and checked
    against the programme's indicators and the org units in force; None when none is set."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "không phải UTF-8 (not UTF-8)"
        raise ReportError(
            f"Không đọc được tệp ánh xạ DHIS2 {path} (cannot read the DHIS2 mapping file): "
            f"{reason}. Fix: check `dhis2_mapping` in the [report] table of pcmd.toml."
        ) from None
    conn = session.connection()
    programme = active_programmes(conn)[DEFAULT_PROGRAMME]
    units = set(session.scalars(select(OrgUnit.code).where(OrgUnit.valid_to.is_(None))))
    return dhis2.read_mapping(
        text, str(path), indicators={i.id for i in programme.indicators}, org_units=units
    )


def render(data: ReportData, fmt: str, mapping: dhis2.Mapping | None = None) -> bytes:
    """The report as bytes: `xlsx` workbook, `csv` zip of tables, or `dhis2` dataValueSet."""
    if fmt == "xlsx":
        return workbook(data)
    if fmt == "csv":
        return csv_tables(data)
    if fmt == "dhis2":
        body = dhis2.data_value_set(
            [*data.indicators, *data.breakdown],
            period=data.period,
            org_unit=data.unit_code,
            complete_date=data.produced.isoformat(),
            mapping=mapping,
        )
        return dhis2.to_json(body)
    raise ReportError(f"Không có định dạng {fmt!r} (no format {fmt!r}); use xlsx, csv or dhis2.")
