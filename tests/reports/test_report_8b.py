"""The indicators of DESIGN §8b flow into the report a province sends: its indicator table
(CSV and Excel), with the numbers `pcmd indicators` gives (the hand-made
dataset of tests/pipeline/handmade_8b.py; values worked out there)."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.ingest.files import FileStore
from pcmd.pipeline import run
from pcmd.pipeline.run import run_pipeline
from pcmd.reports.build import render, report_data
from pcmd.settings import Settings
from tests.pipeline.handmade_8b import TODAY, build_world_8b

NEW = ("TG1", "TG2", "TG3", "TP1", "TP2", "HT1", "HT2", "KH1", "KH2", "BC2")


@pytest.fixture
def report_engine(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(run, "_validate", lambda *_a: set())
    build_world_8b(engine, FileStore(settings.data_dir / "attachments"))
    run_pipeline(engine, today=TODAY)
    return engine


def test_report__8b_indicators_in_every_table(report_engine: Engine) -> None:
    with transaction(report_engine) as session:
        data = report_data(session, "51", "2026Q1", TODAY)
    by_id = {r["indicator"]: r for r in data.indicators}
    # 51, 2026Q1 (test_indicators_8b.py): TG1 1 of 2 due; TP2 (9 − 6) / 6; BC2 3 of 9
    assert (by_id["TG1"]["numerator"], by_id["TG1"]["denominator"]) == (1, 2)
    assert by_id["TP2"]["value"] == 50.0
    assert by_id["BC2"]["value"] == 33.3
    assert data.names["BC2"] == "Tỷ lệ báo cáo tháng đúng hạn"

    tables = zipfile.ZipFile(io.BytesIO(render(data, "csv")))
    text = tables.read("chi_tieu.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for ind in NEW:
        assert any(ind in row for row in rows), ind
        assert data.names[ind] in text, ind

    book = openpyxl.load_workbook(io.BytesIO(render(data, "xlsx")))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row}
    for ind in NEW:
        assert data.names[ind] in cells or ind in cells, ind
