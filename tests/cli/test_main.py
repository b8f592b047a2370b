"""The `pcmd` command as a user runs it: a real process, its output and exit status."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from pcmd.db.engine import make_engine, transaction
from pcmd.db.models import Form, FormMedia, FormVersion, OrgUnit, Project
from tests.serve_process import pcmd_serve


def pcmd(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pcmd", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_init__twice__one_copy_of_everything(database_url: str, tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": database_url}
    first = pcmd("init", env=env)
    assert first.returncode == 0, first.stderr
    assert "34 tỉnh (provinces), 3321 xã (communes)" in first.stdout
    assert "pcmd_outreach 2026112301: biểu mẫu mới (new form)" in first.stdout
    second = pcmd("init", env=env)
    assert second.returncode == 0, second.stderr
    assert "đã mới nhất (up to date)" in second.stdout
    assert "pcmd_outreach: không đổi (unchanged)" in second.stdout

    engine = make_engine(database_url)
    with transaction(engine) as s:

        def count(model: type) -> int | None:
            return s.scalar(select(func.count()).select_from(model))

        by_level = dict(
            s.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all()
        )
        assert by_level == {"country": 1, "province": 34, "commune": 3321}
        assert (count(Project), count(Form), count(FormVersion)) == (1, 8, 8)
        # every form: provinces + communes; inspection and case also establishments (the case
        # update's cases.csv is the entity list, built at each request, not stored): 8×2 + 2
        assert count(FormMedia) == 18
    engine.dispose()


def test_cli__bad_import__one_line_error_no_traceback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    assert pcmd("init", "--skip-forms", env={"PCMD_DATABASE_URL": db}).returncode == 0
    bad = tmp_path / "units.csv"
    bad.write_text("code,name,level,parent\n99001,Xã Mới,commune,00\n", encoding="utf-8")
    result = pcmd("orgunits", "import", str(bad), env={"PCMD_DATABASE_URL": db})
    assert result.returncode == 1
    assert result.stderr.startswith("Lỗi (error): ")
    assert "dòng 2 (line 2): cấp trên 00" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli__malformed_setting__says_which_and_how(tmp_path: Path) -> None:
    result = pcmd("settings", env={"PCMD_PORT": "http"})
    assert result.returncode == 1
    assert "`port`" in result.stderr
    assert "PCMD_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli__settings__shows_sources_and_masks_secret(tmp_path: Path) -> None:
    (tmp_path / "pcmd.toml").write_text('base_url = "http://10.1.2.3:8000"\n')
    result = pcmd("settings", env={"PCMD_SECRET_KEY": "hunter2-long"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "http://10.1.2.3:8000" in lines["base_url"]
    assert "pcmd.toml" in lines["base_url"]
    assert "********" in lines["secret_key"]


@pytest.mark.slow
def test_serve__answers_healthz(tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    assert pcmd("init", "--skip-forms", env=env).returncode == 0
    with pcmd_serve(env, tmp_path / "serve.log") as url:
        response = httpx.get(f"{url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_submissions_import_then_export__csv(tmp_path: Path) -> None:
    from tests.server.collect import JPEG, new_id, outreach_xml

    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PCMD_DATA_DIR": str(tmp_path)}
    assert pcmd("init", env=env).returncode == 0
    iid = new_id()
    folder = tmp_path / "instances" / "pcmd_outreach_2026-11-20_08-00-00"
    folder.mkdir(parents=True)
    (folder / f"{folder.name}.xml").write_bytes(outreach_xml(iid, students=33, photo="a.jpg"))
    (folder / "a.jpg").write_bytes(JPEG)
    imported = pcmd("submissions", "import", str(tmp_path / "instances"), env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"pcmd_outreach_2026-11-20_08-00-00: created {iid}" in imported.stdout
    again = pcmd("submissions", "import", str(tmp_path / "instances"), env=env)
    assert "duplicate 1" in again.stdout

    exported = pcmd("submissions", "export", "--form", "pcmd_outreach", env=env)
    assert exported.returncode == 0, exported.stderr
    (row,) = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["instance_id"] == iid
    assert row["source"] == "import"
    assert row["reach/n_students"] == "33"
    assert row["photo"] == "a.jpg"

    unknown = pcmd("submissions", "export", "--form", "khong_co", env=env)
    assert unknown.returncode == 1
    assert "no form 'khong_co'" in unknown.stderr


def test_main__usage_errors__said_in_vietnamese_with_where_to_find_help(tmp_path: Path) -> None:
    env = {"PCMD_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    unknown = pcmd("nope", env=env)
    assert unknown.returncode == 2
    assert "Lỗi cách dùng lệnh (usage error): No such command 'nope'." in unknown.stderr
    assert "Xem hướng dẫn (help): pcmd --help" in unknown.stderr
    bad = pcmd("report", "--bogus", env=env)
    assert bad.returncode == 2
    assert "Lỗi cách dùng lệnh (usage error): No such option '--bogus'" in bad.stderr
    assert "Xem hướng dẫn (help): pcmd report --help" in bad.stderr
    assert "Traceback" not in bad.stderr
