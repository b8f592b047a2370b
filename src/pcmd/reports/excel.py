"""The report staff send upward, as an Excel workbook, CSV tables and DHIS2 dataValueSets.

Built from plain data (the indicator rows of `pcmd indicators`, their year to date for a
quarter or month, the commune breakdown, each form's labelled records): no database here.
Sheets, in order: the cover in the administrative format (reports/cover.py), the indicators
(the period's value, target and status; for a quarter or month also the year to date against
the year's target, DESIGN §8b), one sheet per form (question labels as headings, choice labels,
numbers and dates as typed cells), the commune breakdown, and "Từ điển (Fields)": each form
column's heading, field path, type and choices. The CSV zip holds the same tables with the same
headings plus `tu_dien.csv`; the machine export with field paths and codes is `pcmd submissions
export` (DESIGN §9). Formatted to print on A4. Every cell goes through reports/formulas.py:
text from phones stays text, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pcmd.reports.cover import cover_sheet
from pcmd.reports.formulas import csv_row, put
from pcmd.reports.labelled import FormRows
from pcmd.settings.report import ReportSettings

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
YTD_HEADERS = (
    "Lũy kế từ đầu năm: tử số",
    "Lũy kế: mẫu số",
    "Lũy kế: giá trị",
    "Chỉ tiêu năm",
    "Lũy kế: đánh giá",
)
BREAKDOWN_HEADERS = ("Mã xã", "Xã, phường, đặc khu")
FIELDS_SHEET = "Từ điển (Fields)"
FIELDS_HEADERS = (
    "Biểu mẫu (form)",
    "Tiêu đề cột (heading)",
    "Đường dẫn trường (field path)",
    "Kiểu dữ liệu (type)",
    "Lựa chọn: mã = nhãn (choices)",
    "Tên biểu mẫu (form title)",
)
NUMBER_FORMATS = {"int": "#,##0", "decimal": "#,##0.##", "date": "dd/mm/yyyy"}
NUMBER_FORMATS["dateTime"] = "dd/mm/yyyy hh:mm"
THIN = Side(style="thin", color="999999")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
STATUS_FILL = {"met": "E2F0D9", "not_met": "F8D7D5"}


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
    year_to_date: Sequence[dict[str, Any]] = ()  # the unit's rows, January to the period's end
    cover: ReportSettings = field(default_factory=ReportSettings)


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


def indicator_cells(
    row: dict[str, Any], names: dict[str, str], ytd: dict[str, Any] | None = None
) -> list[Any]:
    """One indicator row as the report writes it (the indicator sheet and its CSV), with its
    year to date after it when there is one."""
    cells = [
        row["indicator"],
        names.get(row["indicator"], row["indicator"]),
        row["numerator"],
        row["denominator"],
        row["value"],
        UNIT_VI.get(row["unit"], row["unit"]),
        row["target"],
        STATUS_VI.get(row["status"], row["status"]),
    ]
    if ytd is not None:
        cells += [
            ytd["numerator"],
            ytd["denominator"],
            ytd["value"],
            ytd["target"],
            STATUS_VI.get(ytd["status"], ytd["status"]),
        ]
    return cells


def indicator_table(data: ReportData) -> tuple[list[str], list[list[Any]]]:
    """The indicator sheet's headings and rows (year-to-date columns for a quarter or month)."""
    headers = [*INDICATOR_HEADERS, *(YTD_HEADERS if data.year_to_date else ())]
    ytd = {(r["indicator"], r["org_unit"]): r for r in data.year_to_date}
    rows = [
        indicator_cells(r, data.names, ytd.get((r["indicator"], r["org_unit"])) if ytd else None)
        for r in data.indicators
    ]
    return headers, rows


def _cover_facts(data: ReportData) -> list[tuple[str, str]]:
    return [
        ("Đơn vị", f"{data.unit_name} ({data.unit_code})"),
        ("Kỳ báo cáo", data.period),
        ("Ngày lập", data.produced.strftime("%d/%m/%Y")),
        ("Nguồn số liệu", "pcmd — phiếu đã nhận, trừ phiếu không chấp nhận hoặc có lỗi"),
        (
            "Nội dung",
            "Kết quả các chỉ tiêu (kỳ báo cáo"
            + (" và lũy kế từ đầu năm" if data.year_to_date else "")
            + "), phiếu của từng biểu mẫu, số liệu theo xã, từ điển trường dữ liệu.",
        ),
    ]


def _form_sheet(ws: Worksheet, form: FormRows) -> None:
    _header(ws, 1, [c.heading for c in form.columns])
    for r, row in enumerate(form.rows, start=2):
        for c, (column, value) in enumerate(zip(form.columns, row, strict=True), start=1):
            cell = put(ws, r, c, value)
            fmt = NUMBER_FORMATS.get(column.kind)
            if fmt and not isinstance(value, str) and value is not None:
                cell.number_format = fmt
    _widths(ws, [max(12, min(40, len(c.heading) + 2)) for c in form.columns])
    ws.row_dimensions[1].height = 45
    _print_setup(ws, 1)


def field_rows(forms: Sequence[FormRows]) -> list[list[Any]]:
    """The "Từ điển (Fields)" table: what each form column is, for machines and readers."""
    return [
        [
            form.title,
            column.heading,
            column.path,
            column.kind,
            "; ".join(f"{name} = {label}" for name, label in column.choices.items()),
            form.form_title,
        ]
        for form in forms
        for column in form.columns
    ]


def workbook(data: ReportData) -> bytes:
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Bìa"
    cover_sheet(
        cover,
        data.cover,
        unit=data.unit_name,
        period=data.period,
        produced=data.produced,
        facts=_cover_facts(data),
    )

    ws = book.create_sheet("Chỉ tiêu")
    title = f"Kết quả các chỉ tiêu — {data.unit_name}, kỳ {data.period}"
    put(ws, 1, 1, title).font = Font(bold=True, size=12)
    headers, table = indicator_table(data)
    if data.year_to_date:
        ytd_title = f"Lũy kế từ đầu năm ({data.year_to_date[0]['period']})"
        put(ws, 2, len(INDICATOR_HEADERS) + 1, ytd_title).font = Font(bold=True)
        put(ws, 2, 3, f"Kỳ báo cáo {data.period}").font = Font(bold=True)
    _header(ws, 3, headers)
    for r, (row, cells) in enumerate(zip(data.indicators, table, strict=True), start=4):
        for c, value in enumerate(cells, start=1):
            cell = put(ws, r, c, value)
            cell.border = Border(bottom=THIN)
            if c == 2:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if c in (3, 4, 9, 10):
                cell.number_format = "#,##0"
            if c in (5, 7, 11, 12):
                cell.number_format = "#,##0.0" if row["unit"] == "percent" else "#,##0"
        for c, status in ((8, row["status"]), (13, _ytd_status(data, row))):
            fill = STATUS_FILL.get(status or "")
            if fill:
                ws.cell(row=r, column=c).fill = PatternFill("solid", fgColor=fill)
    _widths(
        ws, (8, 60, 12, 12, 10, 8, 10, 18, *((12, 12, 10, 10, 18) if data.year_to_date else ()))
    )
    _print_setup(ws, 3)

    for form in data.forms:
        _form_sheet(book.create_sheet(form.title[:31]), form)

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

    if data.forms:
        sheet = book.create_sheet(FIELDS_SHEET)
        _header(sheet, 1, FIELDS_HEADERS)
        for r, cells in enumerate(field_rows(data.forms), start=2):
            for c, value in enumerate(cells, start=1):
                put(sheet, r, c, value).alignment = Alignment(wrap_text=True, vertical="top")
        _widths(sheet, (18, 40, 34, 12, 60, 40))
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
        archive.writestr("chi_tieu.csv", table(*indicator_table(data)))
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
                table([c.heading for c in form.columns], [_csv_cells(r) for r in form.rows]),
            )
        if data.forms:
            archive.writestr("tu_dien.csv", table(FIELDS_HEADERS, field_rows(data.forms)))
    return out.getvalue()


def _csv_cells(row: Sequence[Any]) -> list[Any]:
    """Dates as ISO text (2026-07-03, 2026-07-03 10:15), which every spreadsheet reads."""
    return [
        v.isoformat(sep=" ", timespec="minutes")
        if isinstance(v, dt.datetime)
        else v.isoformat()
        if isinstance(v, dt.date)
        else v
        for v in row
    ]


def _ytd_status(data: ReportData, row: dict[str, Any]) -> str | None:
    for ytd in data.year_to_date:
        if (ytd["indicator"], ytd["org_unit"]) == (row["indicator"], row["org_unit"]):
            return str(ytd["status"])
    return None
