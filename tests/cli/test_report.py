"""`pcmd report`: its Excel indicator sheet equals `pcmd indicators` for the unit and period."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

from openpyxl import load_workbook

from pcmd.reports.excel import STATUS_VI, UNIT_VI
from tests.cli.test_main import pcmd


def test_report__xlsx_indicator_sheet_equals_pcmd_indicators(tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PCMD_DATA_DIR": str(tmp_path)}
    assert pcmd("init", env=env).returncode == 0
    assert pcmd("demo", "--years", "1", env=env).returncode == 0
    year = str(dt.date.today().year)  # the demo fills the current year
    out = tmp_path / "bao-cao.xlsx"
    done = pcmd("report", "--period", year, "--org", "51", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    shown = pcmd("indicators", "--period", year, "--org", "51", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    expected = json.loads(shown.stdout)
    sheet = load_workbook(out)["Chỉ tiêu"]
    got = [[c.value for c in row] for row in sheet.iter_rows(min_row=4) if row[0].value]
    assert [r[0] for r in got] == [r["indicator"] for r in expected]
    for cells, row in zip(got, expected, strict=True):
        assert cells[2:5] == [row["numerator"], row["denominator"], row["value"]]
        assert cells[5] == UNIT_VI[row["unit"]]
        assert cells[6] == row["target"]
        assert cells[7] == STATUS_VI[row["status"]]

    csv_zip = tmp_path / "bao-cao.zip"
    assert (
        pcmd("report", "--period", year, "--org", "51", "--out", str(csv_zip), env=env).returncode
        == 0
    )
    assert "chi_tieu.csv" in zipfile.ZipFile(io.BytesIO(csv_zip.read_bytes())).namelist()
    dhis2 = tmp_path / "dhis2.json"
    assert (
        pcmd("report", "--period", year, "--org", "51", "--out", str(dhis2), env=env).returncode
        == 0
    )
    values = json.loads(dhis2.read_text())["dataValues"]
    tt1 = next(r for r in expected if r["indicator"] == "TT1")
    assert {
        "dataElement": "PCMD_TT1_NUM",
        "period": year,
        "orgUnit": "51",
        "value": str(tt1["numerator"]),
    } in values

    bad = pcmd("report", "--period", "2021-2025", "--org", "51", "--out", str(out), env=env)
    assert bad.returncode == 1
    assert "monthly, quarterly or annual" in bad.stderr


def test_report__folder_missing__one_clear_line_nothing_written(tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PCMD_DATA_DIR": str(tmp_path)}
    assert pcmd("init", "--skip-forms", env=env).returncode == 0
    out = tmp_path / "khong-co" / "bao-cao.xlsx"
    done = pcmd("report", "--period", "2026", "--org", "51", "--out", str(out), env=env)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Lỗi (error): Không có thư mục {out.parent} để ghi báo cáo")
    assert "Traceback" not in done.stderr
    assert not out.parent.exists()


def test_report__bad_dhis2_mapping__line_number_and_nothing_written(tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PCMD_DATA_DIR": str(tmp_path)}
    assert pcmd("init", "--skip-forms", env=env).returncode == 0
    mapping = tmp_path / "dhis2.csv"
    mapping.write_text(
        "kind,pcmd_code,dhis2_uid,category_option_combo\n"
        "data_set,,pBOMPrpg1QX,\n"
        "numerator,TT9,fbfJHSPpUQD,\n"
        "org_unit,51,DiszpKrYNg,\n",
        encoding="utf-8",
    )
    config = tmp_path / "pcmd.toml"
    config.write_text(f'[report]\ndhis2_mapping = "{mapping}"\n', encoding="utf-8")
    out = tmp_path / "dhis2.json"
    done = pcmd(
        "report",
        "--period",
        "2026Q3",
        "--org",
        "51",
        "--out",
        str(out),
        env={**env, "PCMD_CONFIG": str(config)},
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"Lỗi (error): {mapping}: tệp ánh xạ DHIS2 có 2 dòng lỗi")
    assert "dòng 3 (line 3): chỉ tiêu 'TT9' không có trong chương trình" in done.stderr
    assert "dòng 4 (line 4): uid DHIS2 'DiszpKrYNg' không đúng" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
