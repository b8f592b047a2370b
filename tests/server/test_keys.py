"""The secret key: from PCMD_SECRET_KEY, else a 0600 file made once under data_dir."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from pcmd.errors import SettingsError
from pcmd.server.keys import secret_key
from pcmd.settings import Settings, load_settings


def _settings(tmp_path: Path, **more: str) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "var"), **more}, environ={})


def test_secret_key__no_setting__file_made_0600_and_reused(tmp_path: Path) -> None:
    first = secret_key(_settings(tmp_path))
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert re.fullmatch(rb"[0-9a-f]{64}", first)
    assert secret_key(_settings(tmp_path)) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temp file left


def test_secret_key__two_data_dirs__different_keys(tmp_path: Path) -> None:
    assert secret_key(_settings(tmp_path / "a")) != secret_key(_settings(tmp_path / "b"))


def test_secret_key__setting__wins_over_file(tmp_path: Path) -> None:
    from_file = secret_key(_settings(tmp_path))
    assert secret_key(_settings(tmp_path, secret_key="phú-thọ-2026")) == "phú-thọ-2026".encode()
    assert secret_key(_settings(tmp_path)) == from_file


def test_secret_key__setting__no_file_written(tmp_path: Path) -> None:
    secret_key(_settings(tmp_path, secret_key="shared-by-every-server"))
    assert not (tmp_path / "var" / "secret_key").exists()


def test_secret_key__file_content_as_setting__same_key(tmp_path: Path) -> None:
    """Moving to several servers: copying the file into PCMD_SECRET_KEY keeps the tokens."""
    from_file = secret_key(_settings(tmp_path))
    text = (tmp_path / "var" / "secret_key").read_text().strip()
    assert secret_key(_settings(tmp_path / "other", secret_key=text)) == from_file


def test_secret_key__empty_file__error_says_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("\n")
    with pytest.raises(SettingsError, match=r"rỗng \(the secret key file is empty\)"):
        secret_key(_settings(tmp_path))
