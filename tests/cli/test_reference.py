"""`pcmd reference|establishments|targets import` and `pcmd rules` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import FormMedia, ReferenceValue, Target
from pcmd.pipeline.validate.catalogue import RULES
from tests.cli.test_main import pcmd
from tests.server.collect import load_forms


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_reference_import__good_then_bad__upsert_and_one_line_error(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load_forms(engine)
    env = {"PCMD_DATABASE_URL": database_url}
    good = write(tmp_path, "ref.csv", "\ufefforg_unit,year,key,value\n51,2025,students,830\n")
    result = pcmd("reference", "import", good, env=env)
    assert result.returncode == 0, result.stderr
    assert "thêm 1, sửa 0, giữ nguyên 0 (added 1, updated 0, unchanged 0)" in result.stdout

    bad = write(
        tmp_path,
        "bad.csv",
        "org_unit,year,key,value\n51,2025,students,900\n51,2025,students,x\n99,2025,students,1\n",
    )
    result = pcmd("reference", "import", str(bad), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Lỗi (error): {bad}: 2 dòng lỗi, không nhập gì")
    assert "dòng 3 (line 3)" in result.stderr
    assert "dòng 4 (line 4)" in result.stderr
    assert "Traceback" not in result.stderr
    with transaction(engine) as s:
        assert s.scalars(select(ReferenceValue.value)).all() == [830.0]  # line 2 not applied


def test_cli_establishments_import__refreshes_establishments_csv(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load_forms(engine)
    register = write(
        tmp_path,
        "register.csv",
        "id,name,type,commune,address,license_no,status\n"
        "QN-0001,Karaoke Hoa Mai,karaoke,21025,12 Lê Lợi,,active\n",
    )
    result = pcmd("establishments", "import", register, env={"PCMD_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "added 1" in result.stdout
    assert "upload it again to Kobo/Central" in result.stdout
    with transaction(engine) as s:
        contents = s.scalars(
            select(FormMedia.content).where(FormMedia.filename == "establishments.csv")
        ).all()
    assert len(contents) == 2  # the inspection's and the case's (a case may name one)
    for content in contents:
        assert content.decode("utf-8").splitlines()[1] == (
            "QN-0001,Karaoke Hoa Mai — 12 Lê Lợi,21025,karaoke"
        )


def test_cli_targets_import__stored_and_not_utf8_refused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load_forms(engine)
    env = {"PCMD_DATABASE_URL": database_url}
    good = write(tmp_path, "t.csv", "indicator,org_unit,period,target\nTT1,51,2026Q3,75\n")
    result = pcmd("targets", "import", good, env=env)
    assert result.returncode == 0, result.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "indicator,org_unit,period,target\nTT1,51,2026,75\nTT2,51,2026,Hòa\n".encode("latin-1")
    )
    result = pcmd("targets", "import", str(latin), env=env)
    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 1
        assert s.scalars(select(Target.period)).one() == "2026Q3"


def test_cli_rules__lists_every_rule_both_languages(tmp_path: Path) -> None:
    result = pcmd("rules")
    assert result.returncode == 0, result.stderr
    for rule in RULES.values():
        assert rule.code in result.stdout
    assert "error" in result.stdout
    assert "warning" in result.stdout
    as_json = pcmd("rules", "--json")
    assert as_json.returncode == 0, as_json.stderr
    listed = json.loads(as_json.stdout)
    assert [r["code"] for r in listed] == list(RULES)
    assert set(listed[0]) == {
        "code",
        "severity",
        "title_vi",
        "title_en",
        "message_vi",
        "message_en",
    }
