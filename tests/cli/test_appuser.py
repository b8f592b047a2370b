"""`pcmd appuser …` as a user runs it: a real process, its output and exit status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pcmd.db.engine import make_engine, transaction
from pcmd.server.openrosa import appusers
from tests.cli.test_main import pcmd

BASE = "http://10.0.0.5:8000"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """An initialised database (no forms) and the settings every command below runs with."""
    values = {
        "PCMD_DATABASE_URL": database_url,
        "PCMD_DATA_DIR": str(tmp_path / "var"),
        "PCMD_BASE_URL": BASE,
    }
    result = pcmd("init", "--skip-forms", env=values)
    assert result.returncode == 0, result.stderr
    return values


def test_appuser_create__json__exactly_name_token_server_url_web_url(
    env: dict[str, str], database_url: str
) -> None:
    result = pcmd("appuser", "create", "Xã Ba Đình 1", "--commune", "00004", "--json", env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"name", "token", "server_url", "web_url"}
    token = out["token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert out["name"] == "Xã Ba Đình 1"
    assert out["server_url"] == f"http://10.0.0.5:8000/v1/key/{token}/projects/1"
    assert out["web_url"] == f"http://10.0.0.5:8000/v1/key/{token}/projects/1/web"

    engine = make_engine(database_url)
    with transaction(engine) as session:
        user = appusers.authenticate(session, token)
        assert (user.name, user.commune_codes) == ("Xã Ba Đình 1", ["00004"])
    engine.dispose()


def test_appuser_create__text__communes_url_and_next_step(env: dict[str, str]) -> None:
    result = pcmd("appuser", "create", "Xã 2", "--commune", "00004,00008", env=env)
    assert result.returncode == 0, result.stderr
    assert "Xã (communes): 00004, 00008" in result.stdout
    assert re.search(r"http://10\.0\.0\.5:8000/v1/key/[A-Za-z0-9_-]{43}/projects/1", result.stdout)
    assert "pcmd appuser qr 'Xã 2' --out FILE.png" in result.stdout


def test_appuser_create__unknown_commune__one_line_error(env: dict[str, str]) -> None:
    result = pcmd("appuser", "create", "Xã 3", "--commune", "99999", "--json", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Lỗi (error): Không có xã đang hiệu lực với mã 99999")
    assert result.stderr.count("\n") == 1


def test_appuser_list__names_and_states__no_token(env: dict[str, str]) -> None:
    created = pcmd("appuser", "create", "Xã 1", "--json", env=env)
    token = json.loads(created.stdout)["token"]
    pcmd("appuser", "create", "Xã 2", "--commune", "00004", env=env)
    revoked = pcmd("appuser", "revoke", "Xã 2", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith("Đã thu hồi (revoked) Xã 2")

    result = pcmd("appuser", "list", env=env)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("Xã 1 ")
    assert "hoạt động (active)" in first
    assert "xã (communes): tất cả (all)" in first
    assert second.startswith("Xã 2 ")
    assert "thu hồi (revoked)" in second
    assert "xã (communes): 00004" in second
    assert token not in result.stdout + result.stderr
    assert "/v1/key/" not in result.stdout


def test_appuser_qr__png_of_the_collect_settings(env: dict[str, str], tmp_path: Path) -> None:
    token = json.loads(pcmd("appuser", "create", "Xã 1", "--json", env=env).stdout)["token"]
    out = tmp_path / "xa1.png"
    result = pcmd("appuser", "qr", "Xã 1", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout
    expected = {
        "general": {
            "server_url": f"http://10.0.0.5:8000/v1/key/{token}/projects/1",
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "project": {"name": "Phòng, chống mại dâm"},
        "admin": {},
    }
    png = out.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == appusers.qr_png(appusers.qr_payload(expected))


def test_appuser_qr__revoked__refused(env: dict[str, str], tmp_path: Path) -> None:
    pcmd("appuser", "create", "Xã 1", env=env)
    pcmd("appuser", "revoke", "Xã 1", env=env)
    out = tmp_path / "xa1.png"
    result = pcmd("appuser", "qr", "Xã 1", "--out", str(out), env=env)
    assert result.returncode == 1
    assert "(app user 'Xã 1' is revoked; its QR code would be refused)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_appuser_revoke__unknown__suggests_list(env: dict[str, str]) -> None:
    result = pcmd("appuser", "revoke", "Xã 9", env=env)
    assert result.returncode == 1
    assert "See `pcmd appuser list`" in result.stderr
