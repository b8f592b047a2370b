"""User text in spreadsheets stays text: CSV cells made inert, xlsx cells written as strings."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import Workbook, load_workbook

from pcmd.reports.formulas import csv_cell, csv_row, put


def test_csv_cell__formula_starts__quote_prefixed() -> None:
    assert csv_cell("=1+1") == "'=1+1"
    assert (
        csv_cell('=HYPERLINK("http://x.example","bấm")') == '\'=HYPERLINK("http://x.example","bấm")'
    )
    assert csv_cell("+84-912") == "'+84-912"
    assert csv_cell("-2+3") == "'-2+3"
    assert csv_cell("@SUM(A1:A2)") == "'@SUM(A1:A2)"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("\r=1") == "'\r=1"
    assert csv_cell("\uff1d1+1") == "'\uff1d1+1"  # full-width equals sign


def test_csv_cell__numbers_and_plain_text__unchanged() -> None:
    assert csv_cell(-5) == -5
    assert csv_cell(-2.5) == -2.5
    assert csv_cell(0) == 0
    assert csv_cell("-5") == "-5"  # text that is exactly a number is a number
    assert csv_cell("+84") == "+84"
    assert csv_cell("-1.5e3") == "-1.5e3"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "True"
    assert csv_cell("Phường Cẩm Thành") == "Phường Cẩm Thành"
    assert csv_cell("a=1") == "a=1"  # only the first character matters
    assert csv_cell(" =1") == " =1"


def test_csv_row__quoted_cell_still_inert() -> None:
    """A cell the CSV writer quotes (it holds a comma) keeps its prefix inside the quotes."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(csv_row(["=1+1,2", -3, "ok"]))
    assert out.getvalue() == '"\'=1+1,2",-3,ok\n'


def test_put__text_is_a_string_cell_numbers_stay_numbers() -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    put(ws, 1, 1, "=1+1")
    put(ws, 1, 2, "#N/A")
    put(ws, 1, 3, -5)
    put(ws, 1, 4, "bad\x01char")
    put(ws, 1, 5, "-5")
    out = io.BytesIO()
    book.save(out)
    sheet_xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    read = load_workbook(io.BytesIO(out.getvalue())).active
    assert read is not None
    cells = [read.cell(row=1, column=c) for c in range(1, 6)]
    assert [c.value for c in cells] == ["=1+1", "#N/A", -5, "bad\ufffdchar", "-5"]
    assert [c.data_type for c in cells] == ["s", "s", "n", "s", "s"]
