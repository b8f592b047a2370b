"""`pcmd pipeline run`, `pcmd indicators` (DESIGN §8's exact JSON) and `pcmd programmes`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.indicators.programme import EXAMPLE_PLAN, shipped_text
from pcmd.settings import Settings
from tests.cli.test_main import pcmd
from tests.pipeline import records
from tests.server.collect import load_forms

KEYS = [
    "indicator",
    "org_unit",
    "period",
    "numerator",
    "denominator",
    "value",
    "unit",
    "target",
    "status",
]


def _send(engine: Engine, store: FileStore, form: str, commune: str, day: str, **given: Any):
    xml = records.xml(form, records.new_id(), commune=commune, province="51", day=day, **given)
    return ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))


def test_cli_pipeline_and_indicators(
    settings: Settings, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """Should run the pipeline, then print DESIGN §8's rows as JSON and CSV."""
    load_forms(engine)  # the official list: province 51 has 96 communes
    store = FileStore(settings.data_dir / "attachments")
    first = _send(engine, store, "pcmd_outreach", "21025", "2025-03-10", channel="bao_chi",
                  media_items=1, reach__n_students=40, reach__n_general=5)  # fmt: skip
    _send(engine, store, "pcmd_outreach", "21028", "2025-05-02", reach__n_general=12)
    env = {"PCMD_DATABASE_URL": database_url}

    done = pcmd("pipeline", "run", "--today", "2026-11-20", env=env)
    assert done.returncode == 0, done.stderr
    assert "Pipeline" in done.stdout
    assert "thời gian (time)" in done.stdout

    out = pcmd("indicators", "--period", "2025", "--org", "51", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 25  # DESIGN §8 and §8b
    assert all(list(r) == KEYS for r in rows)
    by_id = {r["indicator"]: r for r in rows}
    assert by_id["TT1"] == {
        "indicator": "TT1",
        "org_unit": "51",
        "period": "2025",
        "numerator": 2,
        "denominator": 96,
        "value": 2.1,
        "unit": "percent",
        "target": 70.0,
        "status": "not_met",
    }
    assert by_id["HD2"] == {
        "indicator": "HD2",
        "org_unit": "51",
        "period": "2025",
        "numerator": 57,
        "denominator": None,
        "value": 57,
        "unit": "count",
        "target": None,
        "status": "no_target",
    }
    assert '"numerator": 2, "denominator": 96, "value": 2.1' in out.stdout

    out = pcmd(
        "indicators", "--period", "202503", "--org", "51", "--level", "commune",
        "--format", "csv", env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(table) == 96 * 25
    assert list(table[0]) == KEYS
    row = next(r for r in table if r["org_unit"] == "21025" and r["indicator"] == "TT2")
    assert (row["numerator"], row["denominator"], row["value"], row["target"]) == (
        "1",
        "1",
        "100.0",
        "",
    )

    out = pcmd("indicators", "--period", "2025", "--org", "51", "--records", "HD1", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["submission_ids"] == sorted(
        [first.submission_id, first.submission_id + 1]
    )

    bad = pcmd("indicators", "--period", "2025-13", env=env)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Lỗi (error): Kỳ báo cáo '2025-13' không hợp lệ")
    bad = pcmd("indicators", "--period", "2025", "--org", "51", "--level", "country", env=env)
    assert bad.returncode == 1
    assert "there is no country under it" in bad.stderr


def test_cli_indicators__before_any_run(engine: Engine, database_url: str) -> None:
    out = pcmd("indicators", "--period", "2025", env={"PCMD_DATABASE_URL": database_url})
    assert out.returncode == 1
    assert "pcmd pipeline run" in out.stderr


def test_cli_programmes(engine: Engine, database_url: str, tmp_path: Path) -> None:
    """Should check and switch on a plan, list it, compute it, and switch it off."""
    load_forms(engine)
    env = {"PCMD_DATABASE_URL": database_url}
    plan = tmp_path / "ke_hoach.toml"
    plan.write_text(shipped_text(EXAMPLE_PLAN), encoding="utf-8")
    added = pcmd("programmes", "add", str(plan), env=env)
    assert added.returncode == 0, added.stderr
    assert "ke_hoach_51_2026: 27 chỉ tiêu (indicators), 51, 2026" in added.stdout
    listed = pcmd("programmes", "list", env=env)
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "pcmd_1629",
        "ke_hoach_51_2026",
    ]
    assert pcmd("pipeline", "run", "--today", "2026-11-20", env=env).returncode == 0
    out = pcmd(
        "indicators", "--programme", "ke_hoach_51_2026", "--period", "2026", "--org", "51",
        env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [r["indicator"] for r in json.loads(out.stdout)][-2:] == ["QN1", "QN2"]

    broken = tmp_path / "broken.toml"
    broken.write_text(plan.read_text().replace('kind = "sum"', 'kind = "avg"'), encoding="utf-8")
    refused = pcmd("programmes", "add", str(broken), env=env)
    assert refused.returncode == 1
    assert "broken.toml: indicators[0].numerator.kind" in refused.stderr

    removed = pcmd("programmes", "remove", "ke_hoach_51_2026", env=env)
    assert removed.returncode == 0, removed.stderr
    listed = pcmd("programmes", "list", env=env)
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["pcmd_1629"]
