"""`pcmd init` makes the UIC secret; `pcmd reminders email|send` as a user runs them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from pcmd.db.engine import make_engine, transaction
from pcmd.db.tables import EMAILS
from pcmd.server.accounts import create_user
from tests.cli.test_main import pcmd


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    values = {"PCMD_DATABASE_URL": database_url, "PCMD_DATA_DIR": str(tmp_path / "var")}
    result = pcmd("init", "--skip-forms", env=values)
    assert result.returncode == 0, result.stderr
    assert "Khoá mã hoá mã nhận diện (UIC secret): tạo mới" in result.stdout
    return values


def test_init__uic_secret_0600_kept_on_second_run(env: dict[str, str], tmp_path: Path) -> None:
    key = tmp_path / "var" / "uic_key"
    first = key.read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = pcmd("init", "--skip-forms", env=env)
    assert again.returncode == 0, again.stderr
    assert "UIC secret" not in again.stdout
    assert key.read_bytes() == first


def test_reminders_email__set_bad_and_remove(env: dict[str, str], database_url: str) -> None:
    engine = make_engine(database_url)
    with transaction(engine, write=True) as session:
        create_user(
            session, "can.bo.camthanh", "mật-khẩu-đủ-dài-2026", "commune_officer", ["21025"]
        )
    bad = pcmd("reminders", "email", "can.bo.camthanh", "khong-phai-thu", env=env)
    assert bad.returncode == 2
    assert "không hợp lệ (not an e-mail address)" in bad.stderr
    unknown = pcmd("reminders", "email", "ai.do", "a@b.vn", env=env)
    assert unknown.returncode == 2
    assert "no such web user" in unknown.stderr
    ok = pcmd("reminders", "email", "can.bo.camthanh", "camthanh@xa.gov.vn", env=env)
    assert ok.returncode == 0, ok.stderr
    with transaction(engine) as session:
        assert session.scalars(select(EMAILS.c.email)).all() == ["camthanh@xa.gov.vn"]
    removed = pcmd("reminders", "email", "can.bo.camthanh", env=env)
    assert removed.returncode == 0
    with transaction(engine) as session:
        assert session.scalars(select(EMAILS.c.email)).all() == []
    engine.dispose()


def test_reminders_send__no_mail_server__says_so(env: dict[str, str]) -> None:
    result = pcmd("reminders", "send", "--date", "2026-12-03", env=env)
    assert result.returncode == 0, result.stderr
    assert "no mail server set: nothing sent" in result.stdout
    bad = pcmd("reminders", "send", "--date", "3/12/2026", env=env)
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr
