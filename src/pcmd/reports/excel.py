"""The report staff send upward, as an Excel workbook, CSV tables and DHIS2 dataValueSets.

Built from plain data (the indicator rows of `pcmd indicators`, the commune breakdown, the
activity rows of each form): no database here. Sheets, in order: cover (unit, period, date
produced), indicators (with targets and statuses), one sheet per form with its activity rows,
and the commune breakdown. Vietnamese headers; formatted to print on A4 landscape. Every cell
goes through reports/formulas.py: text from phones stays text, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pcmd.reports.formulas import csv_row, put

STATUS_VI = {
    "met": "Đạt",
    "not_met": "Chưa đạt",
    "no_target": "Chưa giao chỉ tiêu",
    "no_data": "Chưa có số liệu",
}
UNIT_VI = {"percent": "%", "count": "số"}
INDICATOR_HEADERS = (
    "Mã",
    "Tên chỉ tiêu",
    "Tử số",
    "Mẫu số",
    "Giá trị",
    "Đơn vị",
    "Chỉ tiêu",
    "Đánh giá",
)
BREAKDOWN_HEADERS = ("Mã xã", "Xã, phường, đặc khu")
THIN = Side(style="thin", color="999999")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
STATUS_FILL = {"met": "E2F0D9", "not_met": "F8D7D5"}


@dataclass
class FormRows:
    title: str
    columns: Sequence[str]
    rows: Sequence[dict[str, Any]]


@dataclass
class ReportData:
    unit_code: str
    unit_name: str
    period: str
    produced: dt.date
    indicators: Sequence[dict[str, Any]]  # rows of `pcmd indicators` for the unit
    names: dict[str, str]  # indicator id → Vietnamese name
    breakdown: Sequence[dict[str, Any]] = ()  # the same rows at commune level
    commune_names: dict[str, str] = field(default_factory=dict)
    forms: Sequence[FormRows] = ()


def _header(ws: Worksheet, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, start=1):
        cell = put(ws, row, col, text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)


def _print_setup(ws: Worksheet, header_row: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def indicator_cells(row: dict[str, Any], names: dict[str, str]) -> list[Any]:
    """One indicator row as the report writes it (the indicator sheet and its CSV)."""
    return [
        row["indicator"],
        names.get(row["indicator"], row["indicator"]),
        row["numerator"],
        row["denominator"],
        row["value"],
        UNIT_VI.get(row["unit"], row["unit"]),
        row["target"],
        STATUS_VI.get(row["status"], row["status"]),
    ]


def workbook(data: ReportData) -> bytes:
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Bìa"
    put(cover, 1, 1, "BÁO CÁO KẾT QUẢ THỰC HIỆN CHƯƠNG TRÌNH PHÒNG, CHỐNG MẠI DÂM").font = Font(
        bold=True, size=14
    )
    for i, (label, value) in enumerate(
        (
            ("Đơn vị", f"{data.unit_name} ({data.unit_code})"),
            ("Kỳ báo cáo", data.period),
            ("Ngày lập", data.produced.strftime("%d/%m/%Y")),
            ("Nguồn số liệu", "pcmd — phiếu đã nhận, trừ phiếu không chấp nhận hoặc có lỗi"),
        ),
        start=3,
    ):
        put(cover, i, 1, label).font = Font(bold=True)
        put(cover, i, 2, value)
    _widths(cover, (22, 70))

    ws = book.create_sheet("Chỉ tiêu")
    title = f"Kết quả các chỉ tiêu — {data.unit_name}, kỳ {data.period}"
    put(ws, 1, 1, title).font = Font(bold=True, size=12)
    _header(ws, 3, INDICATOR_HEADERS)
    for r, row in enumerate(data.indicators, start=4):
        for c, value in enumerate(indicator_cells(row, data.names), start=1):
            cell = put(ws, r, c, value)
            cell.border = Border(bottom=THIN)
            if c == 2:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if c in (3, 4):
                cell.number_format = "#,##0"
            if c in (5, 7):
                cell.number_format = "#,##0.0" if row["unit"] == "percent" else "#,##0"
        fill = STATUS_FILL.get(row["status"])
        if fill:
            ws.cell(row=r, column=8).fill = PatternFill("solid", fgColor=fill)
    _widths(ws, (8, 60, 12, 12, 10, 8, 10, 18))
    _print_setup(ws, 3)

    for form in data.forms:
        sheet = book.create_sheet(form.title[:31])
        _header(sheet, 1, list(form.columns))
        for r, row in enumerate(form.rows, start=2):
            for c, column in enumerate(form.columns, start=1):
                put(sheet, r, c, row.get(column))
        _widths(sheet, [max(10, min(40, len(c) + 2)) for c in form.columns])
        _print_setup(sheet, 1)

    if data.breakdown:
        sheet = book.create_sheet("Theo xã")
        ids = list(dict.fromkeys(r["indicator"] for r in data.breakdown))
        _header(sheet, 1, [*BREAKDOWN_HEADERS, *ids])
        by_unit: dict[str, dict[str, Any]] = {}
        for row in data.breakdown:
            by_unit.setdefault(row["org_unit"], {})[row["indicator"]] = row["value"]
        for r, (code, values) in enumerate(sorted(by_unit.items()), start=2):
            put(sheet, r, 1, code)
            put(sheet, r, 2, data.commune_names.get(code, code))
            for c, ind in enumerate(ids, start=3):
                put(sheet, r, c, values.get(ind))
        _widths(sheet, [10, 34, *[9] * len(ids)])
        _print_setup(sheet, 1)

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_tables(data: ReportData) -> bytes:
    """The same tables as CSV files in one zip (UTF-8 with BOM so Excel reads Vietnamese);
    text that a spreadsheet would take for a formula is made inert (reports/formulas.py)."""

    def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(csv_row(headers))
        writer.writerows(csv_row(row) for row in rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "chi_tieu.csv",
            table(INDICATOR_HEADERS, [indicator_cells(r, data.names) for r in data.indicators]),
        )
        archive.writestr(
            "theo_xa.csv",
            table(
                (
                    "indicator",
                    "org_unit",
                    "period",
                    "numerator",
                    "denominator",
                    "value",
                    "target",
                    "status",
                ),
                [
                    [
                        r["indicator"],
                        r["org_unit"],
                        r["period"],
                        r["numerator"],
                        r["denominator"],
                        r["value"],
                        r["target"],
                        r["status"],
                    ]
                    for r in data.breakdown
                ],
            ),
        )
        for form in data.forms:
            archive.writestr(
                f"{form.title}.csv",
                table(list(form.columns), [[r.get(c) for c in form.columns] for r in form.rows]),
            )
    return out.getvalue()


def dhis2_data_value_set(rows: Sequence[dict[str, Any]], *, data_set: str | None = None) -> str:
    """DHIS2 dataValueSets JSON: a data element per indicator numerator and denominator.

    Data elements and org units go by code (import with dataElementIdScheme=CODE and
    orgUnitIdScheme=CODE): `PCMD_<indicator>_NUM` / `_DEN`, and the GSO codes. DHIS2 period
    ids for months, quarters and years are pcmd's own; DHIS2 has no multi-year period, so a
    2021-2025 row is left out (send the years instead). Values are totals, as DHIS2 wants.
    """
    values = []
    for row in rows:
        if "-" in row["period"]:
            continue
        for suffix, key in (("NUM", "numerator"), ("DEN", "denominator")):
            value = row.get(key)
            if value is None:
                continue
            values.append(
                {
                    "dataElement": f"PCMD_{row['indicator']}_{suffix}",
                    "period": row["period"],
                    "orgUnit": row["org_unit"],
                    "value": str(int(value)) if float(value).is_integer() else str(value),
                }
            )
    body: dict[str, Any] = {"dataValues": values}
    if data_set:
        body = {"dataSet": data_set, **body}
    return json.dumps(body, ensure_ascii=False, indent=1)
