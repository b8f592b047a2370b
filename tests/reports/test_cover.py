"""The report's cover in the administrative format (Decree 30/2020), filled from settings."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from pcmd.reports.cover import cover_sheet, period_words, place_and_date
from pcmd.settings.report import ReportSettings

SETTINGS = ReportSettings(
    parent_agency="UBND tỉnh Quảng Ngãi",
    agency="Sở Y tế",
    symbol="BC-SYT",
    place="Quảng Ngãi",
    to=("Ủy ban nhân dân tỉnh Quảng Ngãi",),
    recipients=("Như trên", "Bộ Y tế (b/c);", "Lưu: VT, BTXH"),
    signer_authority="KT. Giám đốc",
    signer_title="Phó Giám đốc",
    signer_name="Nguyễn Văn A",
)


def _cover(settings: ReportSettings, period: str = "2026Q3") -> dict[str, object]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    cover_sheet(
        sheet,
        settings,
        unit="Tỉnh Quảng Ngãi",
        period=period,
        produced=dt.date(2026, 10, 5),
        facts=[("Kỳ báo cáo", period)],
    )
    out = io.BytesIO()
    book.save(out)
    ws = load_workbook(out).active
    assert ws is not None
    assert ws.page_setup.paperSize == 9  # A4 in the OOXML paper size list
    assert ws.page_setup.orientation == "portrait"
    assert ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    return {
        f"{c.column_letter}{c.row}": c.value
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    }


def test_cover__every_part_of_the_administrative_format() -> None:
    cells = _cover(SETTINGS)
    assert cells["A1"] == "UBND TỈNH QUẢNG NGÃI"
    assert cells["A2"] == "SỞ Y TẾ"
    assert cells["A4"] == "Số:      /BC-SYT"  # the number is given by the records office
    assert cells["D1"] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert cells["D2"] == "Độc lập - Tự do - Hạnh phúc"
    assert cells["D4"] == "Quảng Ngãi, ngày 05 tháng 10 năm 2026"
    assert cells["A6"] == "BÁO CÁO"
    assert cells["A7"] == "Kết quả thực hiện Chương trình phòng, chống mại dâm quý III năm 2026"
    assert cells["A8"] == ("(Số liệu của Tỉnh Quảng Ngãi, từ ngày 01/07/2026 đến ngày 30/09/2026)")
    assert cells["A10"] == "Kính gửi: Ủy ban nhân dân tỉnh Quảng Ngãi."
    assert cells["A12"] == "Kỳ báo cáo"
    # row 14: Nơi nhận on the left, the signature block on the right
    assert cells["A14"] == "Nơi nhận:"
    assert [cells["A15"], cells["A16"], cells["A17"]] == [
        "- Như trên;",
        "- Bộ Y tế (b/c);",
        "- Lưu: VT, BTXH.",
    ]
    assert [cells["E14"], cells["E15"], cells["E16"], cells["E19"]] == [
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "(Ký, ghi rõ họ tên, đóng dấu)",
        "Nguyễn Văn A",
    ]


def test_cover__blank_settings__dotted_lines_to_fill_by_hand() -> None:
    cells = _cover(ReportSettings(), "202601")
    assert cells["A2"] == "…………"
    assert cells["A4"] == "Số:      /BC"
    assert cells["D4"] == "…………, ngày 05 tháng 10 năm 2026"
    assert cells["A7"] == "Kết quả thực hiện Chương trình phòng, chống mại dâm tháng 1 năm 2026"
    assert cells["A10"] == "Kính gửi: …………."
    assert "A1" not in cells  # no parent agency: the line stays empty
    assert [cells["E14"], cells["E18"]] == ["…………", "…………"]  # title and name to fill


@pytest.mark.parametrize(
    ("day", "said"),
    [
        (dt.date(2020, 1, 5), "Tam Kỳ, ngày 05 tháng 01 năm 2020"),
        (dt.date(2019, 6, 29), "Tam Kỳ, ngày 29 tháng 6 năm 2019"),
        (dt.date(2025, 2, 3), "Tam Kỳ, ngày 03 tháng 02 năm 2025"),
        (dt.date(2025, 12, 15), "Tam Kỳ, ngày 15 tháng 12 năm 2025"),
    ],
)
def test_place_and_date__leading_zero_for_days_below_10_and_months_1_2(
    day: dt.date, said: str
) -> None:
    assert place_and_date("Tam Kỳ", day) == said


def test_period_words__each_kind() -> None:
    assert [period_words(p) for p in ("2026Q4", "202612", "2026", "2021-2025")] == [
        "quý IV năm 2026",
        "tháng 12 năm 2026",
        "năm 2026",
        "giai đoạn 2021-2025",
    ]
