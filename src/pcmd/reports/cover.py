"""The report's cover sheet in the administrative format of Decree 30/2020 (Phụ lục I).

Top left the agencies (cơ quan chủ quản, cơ quan ban hành) and the number (`Số: …/BC-SYT`, the
number itself left for the records office, văn thư, to give); top right the quốc hiệu and tiêu
ngữ and the place and date; centred the title (BÁO CÁO, then the trích yếu with the period);
the addressees (Kính gửi); what the report holds; bottom left the recipients (Nơi nhận), bottom
right the signature block. Filled from the `[report]` settings; a blank setting is a dotted
line to fill by hand. Times New Roman, A4 portrait, fitted to the page width.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pcmd.masterdata.periods import parse_period
from pcmd.reports.formulas import put
from pcmd.settings.report import ReportSettings

NATIONAL = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TYPE = "BÁO CÁO"
FONT = "Times New Roman"
DOTS = "…………"
LEFT, RIGHT = (1, 3), (4, 8)  # column spans of the two header blocks (A–C, D–H)
COLUMN_WIDTHS = (14, 14, 14, 12, 12, 12, 12, 12)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
# Where the cover puts each part (1-based rows), so tests and readers can find them.
ROW_PARENT, ROW_AGENCY, ROW_NUMBER, ROW_TITLE, ROW_SUBJECT, ROW_WINDOW = 1, 2, 4, 6, 7, 8
ROW_TO, ROW_FACTS = 10, 12


def period_words(code: str) -> str:
    """`quý III năm 2026`, `tháng 7 năm 2026`, `năm 2026`, `giai đoạn 2021-2025`."""
    period = parse_period(code)
    year = period.start.year
    if period.kind == "quarter":
        return f"quý {ROMAN[(period.start.month - 1) // 3 + 1]} năm {year}"
    if period.kind == "month":
        return f"tháng {period.start.month} năm {year}"
    if period.kind == "year":
        return f"năm {year}"
    return f"giai đoạn {period.code}"


def place_and_date(place: str, day: dt.date) -> str:
    """`Quảng Ngãi, ngày 05 tháng 01 năm 2026`: days below 10 and months 1–2 with a leading 0."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place or DOTS}, ngày {day.day:02d} tháng {month} năm {day.year}"


def _block(
    ws: Worksheet, row: int, span: tuple[int, int], text: str, font: Font, line: bool = False
) -> None:
    ws.merge_cells(start_row=row, start_column=span[0], end_row=row, end_column=span[1])
    cell = put(ws, row, span[0], text)
    cell.font = font
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    if line:  # the solid line under the tiêu ngữ, the agency and the trích yếu
        cell.border = Border(bottom=Side(style="thin"))


def _font(size: int, bold: bool = False, italic: bool = False) -> Font:
    return Font(name=FONT, size=size, bold=bold, italic=italic)


def cover_sheet(
    ws: Worksheet,
    report: ReportSettings,
    *,
    unit: str,
    period: str,
    produced: dt.date,
    facts: Sequence[tuple[str, str]],
) -> None:
    """Fill `ws` as the cover of `unit`'s report for `period`, issued on `produced`."""
    whole = (LEFT[0], RIGHT[1])
    _block(ws, ROW_PARENT, LEFT, report.parent_agency.upper(), _font(12))
    _block(ws, ROW_AGENCY, LEFT, (report.agency or DOTS).upper(), _font(12, bold=True), True)
    _block(ws, ROW_NUMBER, LEFT, f"Số:      /{report.symbol}", _font(13))
    _block(ws, ROW_PARENT, RIGHT, NATIONAL, _font(12, bold=True))
    _block(ws, ROW_AGENCY, RIGHT, MOTTO, _font(13, bold=True), True)
    _block(ws, ROW_NUMBER, RIGHT, place_and_date(report.place, produced), _font(13, italic=True))
    _block(ws, ROW_TITLE, whole, TYPE, _font(14, bold=True))
    subject = f"Kết quả thực hiện Chương trình phòng, chống mại dâm {period_words(period)}"
    _block(ws, ROW_SUBJECT, whole, subject, _font(14, bold=True), True)
    parsed = parse_period(period)
    window = f"(Số liệu của {unit}, từ ngày {parsed.start:%d/%m/%Y} đến ngày {parsed.end:%d/%m/%Y})"
    _block(ws, ROW_WINDOW, whole, window, _font(13, italic=True))
    to = "; ".join(report.to) if report.to else DOTS
    _block(ws, ROW_TO, whole, f"Kính gửi: {to}.", _font(14))
    row = ROW_FACTS
    for label, value in facts:
        put(ws, row, 1, label).font = _font(13, bold=True)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=RIGHT[1])
        cell = put(ws, row, 2, value)
        cell.font = _font(13)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    row += 1
    put(ws, row, 1, "Nơi nhận:").font = _font(12, bold=True, italic=True)
    authority = [(report.signer_authority.upper(), _font(13, bold=True))]
    signature = [
        *(authority if report.signer_authority else []),
        ((report.signer_title or DOTS).upper(), _font(13, bold=True)),
        ("(Ký, ghi rõ họ tên, đóng dấu)", _font(12, italic=True)),
        ("", _font(13)),
        ("", _font(13)),
        (report.signer_name or DOTS, _font(13, bold=True)),
    ]
    for i, (text, font) in enumerate(signature):
        _block(ws, row + i, (5, 8), text, font)
    recipients = list(report.recipients)
    for i, name in enumerate(recipients, start=1):
        end = "." if i == len(recipients) else ";"
        text = f"- {name.rstrip(';.')}{end}"
        put(ws, row + i, 1, text).font = _font(11)
    for i, width in enumerate(COLUMN_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for r in (ROW_PARENT, ROW_AGENCY, ROW_SUBJECT):
        ws.row_dimensions[r].height = 20
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    # Decree 30: left 30–35 mm, right 15–20 mm, top and bottom 20–25 mm (inches here).
    ws.page_margins.left, ws.page_margins.right = 1.2, 0.7
    ws.page_margins.top, ws.page_margins.bottom = 0.9, 0.9
    ws.print_area = f"A1:H{row + max(len(signature), len(recipients))}"
