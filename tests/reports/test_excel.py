"""The report workbook, its CSV tables and the DHIS2 export, from hand-written rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

from openpyxl import load_workbook

from pcmd.reports.excel import FormRows, ReportData, csv_tables, dhis2_data_value_set, workbook

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
            ["instance_id", "reach/n_students"],
            [{"instance_id": "uuid:1", "reach/n_students": 40}],
        )
    ],
)


def test_workbook__sheets_and_indicator_table() -> None:
    book = load_workbook(io.BytesIO(workbook(DATA)))
    assert book.sheetnames == ["Bìa", "Chỉ tiêu", "pcmd_outreach", "Theo xã"]
    cover = book["Bìa"]
    assert cover["B3"].value == "Tỉnh Quảng Ngãi (51)"
    assert cover["B5"].value == "05/10/2026"
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
    assert [c.value for c in book["pcmd_outreach"][2]] == ["uuid:1", 40]


def test_csv_tables__zip_with_bom() -> None:
    archive = zipfile.ZipFile(io.BytesIO(csv_tables(DATA)))
    assert sorted(archive.namelist()) == ["chi_tieu.csv", "pcmd_outreach.csv", "theo_xa.csv"]
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
    ]


def test_dhis2__numerator_and_denominator_by_code() -> None:
    body = json.loads(
        dhis2_data_value_set([*ROWS, {**ROWS[0], "period": "2021-2025"}], data_set="PCMD_Q")
    )
    assert body["dataSet"] == "PCMD_Q"
    assert body["dataValues"] == [
        {"dataElement": "PCMD_TT1_NUM", "period": "2026Q3", "orgUnit": "51", "value": "12"},
        {"dataElement": "PCMD_TT1_DEN", "period": "2026Q3", "orgUnit": "51", "value": "15"},
        {"dataElement": "PCMD_HD1_NUM", "period": "2026Q3", "orgUnit": "51", "value": "40"},
    ]
