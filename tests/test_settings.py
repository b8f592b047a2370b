"""Settings: one loader, precedence CLI > PCMD_* > pcmd.toml > default, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcmd.errors import SettingsError
from pcmd.settings import Settings, load_settings
from pcmd.settings.catalogue import SETTINGS
from pcmd.settings.report import ReportSettings


def test_load_settings__defaults__sqlite_in_data_dir() -> None:
    s = load_settings(environ={})
    assert s.port == 8000
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.database_url == "sqlite:///var/pcmd.db"
    assert s.sources["port"] == "default"


def test_load_settings__precedence__cli_over_env_over_file(tmp_path: Path) -> None:
    (tmp_path / "pcmd.toml").write_text('port = 7000\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    env = {"PCMD_PORT": "7500", "PCMD_HOST": "10.0.0.1"}
    s = load_settings({"port": 9000}, environ=env)
    assert (s.port, s.sources["port"]) == (9000, "--port")
    assert (s.host, s.sources["host"]) == ("10.0.0.1", "PCMD_HOST")
    assert s.log_level == "DEBUG"
    assert s.sources["log_level"].startswith("pcmd.toml")


def test_load_settings__pcmd_section_and_explicit_file(tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('[pcmd]\nbase_url = "https://pcmd.soyte.gov.vn/"\n')
    s = load_settings(environ={"PCMD_CONFIG": str(cfg)})
    assert s.base_url == "https://pcmd.soyte.gov.vn"  # trailing slash removed


def test_load_settings__malformed_env__names_setting_source_and_fix() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"PCMD_PORT": "tám nghìn"})
    msg = str(err.value)
    assert "`port`" in msg
    assert "PCMD_PORT" in msg
    assert "'tám nghìn'" in msg
    assert "Fix:" in msg


def test_load_settings__bad_base_url__explains_expected_form() -> None:
    with pytest.raises(SettingsError, match=r"base_url.*http\(s\) URL"):
        load_settings(environ={"PCMD_BASE_URL": "192.168.1.10:8000"})


def test_load_settings__unknown_key_in_file__lists_known(tmp_path: Path) -> None:
    (tmp_path / "pcmd.toml").write_text("prot = 8000\n")
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) prot.*Known settings: .*port"):
        load_settings(environ={})


def test_load_settings__invalid_toml__says_where(tmp_path: Path) -> None:
    (tmp_path / "pcmd.toml").write_text("port = = 1\n")
    with pytest.raises(SettingsError, match=r"pcmd.toml.*not valid TOML"):
        load_settings(environ={})


def test_load_settings__explicit_missing_file__error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})


def test_load_settings__secret__masked_in_description_and_errors() -> None:
    s = load_settings(environ={"PCMD_SECRET_KEY": "s3cr3t-value"})
    assert s.secret_key == "s3cr3t-value"
    shown = {name: value for name, value, _src in s.describe()}
    assert shown["secret_key"] == "********"
    assert "s3cr3t" not in repr(s)


def test_load_settings__database_url_scheme__rejected() -> None:
    with pytest.raises(SettingsError, match="only sqlite"):
        load_settings(environ={"PCMD_DATABASE_URL": "mysql://root@localhost/pcmd"})


def test_settings_registry__every_setting_has_help_and_env_name() -> None:
    for spec in SETTINGS:
        assert spec.help.strip(), spec.name
        assert spec.env == "PCMD_" + spec.name.upper()


def test_load_settings__report_table__cover_fields_from_file(tmp_path: Path) -> None:
    config = tmp_path / "pcmd.toml"
    config.write_text(
        'port = 8001\n[report]\nparent_agency = "UBND TỈNH QUẢNG NGÃI"\nagency = "SỞ Y TẾ"\n'
        'symbol = "BC-SYT"\nplace = "Quảng Ngãi"\nrecipients = ["Bộ Y tế (b/c)", " ", '
        '"Lưu: VT, BTXH."]\nsigner_authority = "KT. GIÁM ĐỐC"\n',
        encoding="utf-8",
    )
    got = load_settings(config_file=config, environ={})
    assert got.port == 8001
    assert got.report.agency == "SỞ Y TẾ"
    assert got.report.symbol == "BC-SYT"
    assert got.report.recipients == ("Bộ Y tế (b/c)", "Lưu: VT, BTXH.")  # blank line dropped
    assert got.report.signer_name == ""  # left to fill by hand
    assert Settings().report == ReportSettings()  # no [report] table: the defaults
    assert ReportSettings().symbol == "BC"


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('symbol = "bc syt"', "symbol: chữ in hoa"),
        ('recipients = "Như trên"', "recipients: cần một danh sách chuỗi"),
        ('agency = "SỞ Y TẾ\\nPHÒNG"', "agency: một dòng"),
        ('signer = "A"', "không có signer (unknown key(s))"),
    ],
)
def test_load_settings__bad_report_table__names_the_key(
    tmp_path: Path, table: str, said: str
) -> None:
    config = tmp_path / "pcmd.toml"
    config.write_text(f"[report]\n{table}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(config_file=config, environ={})
    assert f"[report] không hợp lệ — {said}" in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_load_settings__example_config__loads() -> None:
    """docs/pcmd.example.toml, the example README points to, is a valid configuration."""
    example = Path(__file__).parents[1] / "docs" / "pcmd.example.toml"
    got = load_settings(config_file=example, environ={})
    assert got.base_url == "http://192.168.1.10:8000"
    assert (got.report.symbol, got.report.place) == ("BC-SYT", "Quảng Ngãi")
    assert got.report.recipients == ("Như trên", "Bộ Y tế (b/c)", "Lưu: VT, BTXH")
