"""The report workbook and its CSV tables, from hand-written rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from openpyxl import load_workbook

from pcmd.reports.excel import FIELDS_SHEET, ReportData, csv_tables, workbook
from pcmd.reports.labelled import Column, FormRows

ROWS = [
    {
        "indicator": "TT1",
        "org_unit": "51",
        "period": "2026Q3",
        "numerator": 12,
        "denominator": 15,
        "value": 80.0,
        "unit": "percent",
        "target": 70.0,
        "status": "met",
    },
    {
        "indicator": "HD1",
        "org_unit": "51",
        "period": "2026Q3",
        "numerator": 40,
        "denominator": None,
        "value": 40,
        "unit": "count",
        "target": None,
        "status": "no_target",
    },
]
BREAKDOWN = [
    {
        "indicator": "TT1",
        "org_unit": "21025",
        "period": "2026Q3",
        "numerator": 1,
        "denominator": 1,
        "value": 100.0,
        "unit": "percent",
        "target": 70.0,
        "status": "met",
    },
    {
        "indicator": "TT1",
        "org_unit": "21028",
        "period": "2026Q3",
        "numerator": 0,
        "denominator": 1,
        "value": 0.0,
        "unit": "percent",
        "target": 70.0,
        "status": "not_met",
    },
]
DATA = ReportData(
    unit_code="51",
    unit_name="Tỉnh Quảng Ngãi",
    period="2026Q3",
    produced=dt.date(2026, 10, 5),
    indicators=ROWS,
    names={
        "TT1": "Tỷ lệ xã, phường, đặc khu tổ chức ít nhất một hình thức tuyên truyền",
        "HD1": "Số hoạt động tuyên truyền",
    },
    breakdown=BREAKDOWN,
    commune_names={"21025": "Phường Cẩm Thành", "21028": "Phường Nghĩa Lộ"},
    forms=[
        FormRows(
            "pcmd_outreach",
            [
                Column("Mã phiếu", "instance_id", "text"),
                Column("Ngày tổ chức hoạt động", "activity_date", "date"),
                Column("Học sinh, sinh viên", "reach/n_students", "int"),
                Column(
                    "Nội dung tuyên truyền",
                    "topics",
                    "select",
                    {"phap_luat": "Pháp luật", "hiv_sti": "HIV/AIDS"},
                ),
                Column("Ghi chú", "notes", "string"),
            ],
            [["uuid:1", dt.date(2026, 7, 3), 40, "Pháp luật; HIV/AIDS", "=1+1"]],
            "Hoạt động tuyên truyền",
        )
    ],
)
# The year to date of TT1 and HD1 for 2026Q3 (January–September), judged against the year.
YTD = [
    {**ROWS[0], "period": "2026-01..2026-09", "numerator": 13, "value": 86.7, "status": "met"},
    {**ROWS[1], "period": "2026-01..2026-09", "numerator": 95, "value": 95},
]


def test_workbook__sheets_and_indicator_table() -> None:
    book = load_workbook(io.BytesIO(workbook(DATA)))
    assert book.sheetnames == ["Bìa", "Chỉ tiêu", "pcmd_outreach", "Theo xã", FIELDS_SHEET]
    sheet = book["Chỉ tiêu"]
    assert [c.value for c in sheet[3]] == [
        "Mã",
        "Tên chỉ tiêu",
        "Tử số",
        "Mẫu số",
        "Giá trị",
        "Đơn vị",
        "Chỉ tiêu",
        "Đánh giá",
    ]
    assert [c.value for c in sheet[4]] == [
        "TT1",
        DATA.names["TT1"],
        12,
        15,
        80.0,
        "%",
        70.0,
        "Đạt",
    ]
    assert [c.value for c in sheet[5]][::7] == ["HD1", "Chưa giao chỉ tiêu"]
    assert sheet.page_setup.orientation == "landscape"
    by_commune = book["Theo xã"]
    assert [c.value for c in by_commune[2]] == ["21025", "Phường Cẩm Thành", 100.0]
    assert [c.value for c in by_commune[3]] == ["21028", "Phường Nghĩa Lộ", 0.0]


def test_workbook__form_sheet__labels_as_headings_typed_cells() -> None:
    """Headings are the question labels; a number is a number cell, a date a date cell with a
    day/month/year format, a select_multiple its labels; a formula typed on a phone stays
    text; the field dictionary keeps each heading's path, type and choices."""
    book = load_workbook(io.BytesIO(workbook(DATA)))
    sheet = book["pcmd_outreach"]
    assert [c.value for c in sheet[1]] == [
        "Mã phiếu",
        "Ngày tổ chức hoạt động",
        "Học sinh, sinh viên",
        "Nội dung tuyên truyền",
        "Ghi chú",
    ]
    _ident, day, students, topics, note = sheet[2]
    assert (day.value, day.is_date, day.number_format) == (
        dt.datetime(2026, 7, 3),
        True,
        "dd/mm/yyyy",
    )
    assert (students.value, students.data_type, students.number_format) == (40, "n", "#,##0")
    assert isinstance(students.value, int)
    assert topics.value == "Pháp luật; HIV/AIDS"
    assert (note.value, note.data_type) == ("=1+1", "s")
    fields = [[c.value for c in row] for row in book[FIELDS_SHEET].iter_rows(min_row=2)]
    assert fields[2] == [
        "pcmd_outreach",
        "Học sinh, sinh viên",
        "reach/n_students",
        "int",
        None,
        "Hoạt động tuyên truyền",
    ]
    assert fields[3] == [
        "pcmd_outreach",
        "Nội dung tuyên truyền",
        "topics",
        "select",
        "phap_luat = Pháp luật; hiv_sti = HIV/AIDS",
        "Hoạt động tuyên truyền",
    ]


def test_workbook__quarter__year_to_date_beside_the_period() -> None:
    """A quarter's indicator rows carry the year to date after the period's own columns:
    numerator, denominator, value, the year's target and the status against it."""
    book = load_workbook(io.BytesIO(workbook(ReportData(**{**DATA.__dict__, "year_to_date": YTD}))))
    sheet = book["Chỉ tiêu"]
    assert [c.value for c in sheet[3]][8:] == [
        "Lũy kế từ đầu năm: tử số",
        "Lũy kế: mẫu số",
        "Lũy kế: giá trị",
        "Chỉ tiêu năm",
        "Lũy kế: đánh giá",
    ]
    assert sheet.cell(2, 9).value == "Lũy kế từ đầu năm (2026-01..2026-09)"
    assert [c.value for c in sheet[4]][8:] == [13, 15, 86.7, 70.0, "Đạt"]
    assert [c.value for c in sheet[5]][8:] == [95, None, 95, None, "Chưa giao chỉ tiêu"]
    without = load_workbook(io.BytesIO(workbook(DATA)))["Chỉ tiêu"]
    assert without.max_column == 8  # a year is its own total


def test_csv_tables__zip_with_bom() -> None:
    data = ReportData(**{**DATA.__dict__, "year_to_date": YTD})
    archive = zipfile.ZipFile(io.BytesIO(csv_tables(data)))
    assert sorted(archive.namelist()) == [
        "chi_tieu.csv",
        "pcmd_outreach.csv",
        "theo_xa.csv",
        "tu_dien.csv",
    ]
    text = archive.read("chi_tieu.csv").decode("utf-8")
    assert text.startswith("\ufeffMã,Tên chỉ tiêu")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[2] == [
        "HD1",
        "Số hoạt động tuyên truyền",
        "40",
        "",
        "40",
        "số",
        "",
        "Chưa giao chỉ tiêu",
        "95",
        "",
        "95",
        "",
        "Chưa giao chỉ tiêu",
    ]
    form = list(csv.reader(io.StringIO(archive.read("pcmd_outreach.csv").decode("utf-8-sig"))))
    assert form == [
        [
            "Mã phiếu",
            "Ngày tổ chức hoạt động",
            "Học sinh, sinh viên",
            "Nội dung tuyên truyền",
            "Ghi chú",
        ],
        ["uuid:1", "2026-07-03", "40", "Pháp luật; HIV/AIDS", "'=1+1"],
    ]
    fields = list(csv.reader(io.StringIO(archive.read("tu_dien.csv").decode("utf-8-sig"))))
    assert fields[3][1:4] == ["Học sinh, sinh viên", "reach/n_students", "int"]
