"""The one settings loader.

Precedence, highest first: command-line option, `PCMD_*` environment variable, `pcmd.toml`
(path from `--config`, `PCMD_CONFIG`, else `./pcmd.toml` when it exists), then the default.
Every setting is declared once in SETTINGS; that list feeds the loader, `pcmd settings` and
the docs.
Nothing here runs at import time: callers pass the environment and overrides in.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pcmd.errors import SettingsError

ENV_PREFIX = "PCMD_"
DEFAULT_CONFIG_FILE = "pcmd.toml"
# The installation's secret key, when PCMD_SECRET_KEY is not set: <data_dir>/secret_key.
KEY_FILE_NAME = "secret_key"
# The secret that turns a support record's UIC answers into a key (DESIGN §6b): <data_dir>/uic_key.
UIC_KEY_FILE_NAME = "uic_key"


def _as_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("cần một chuỗi không rỗng (expected a non-empty string)")
    return value.strip()


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("cần một số nguyên (expected a whole number)")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError("cần một số nguyên (expected a whole number)") from None


def _as_path(value: Any) -> Path:
    return Path(_as_str(value)).expanduser()


def _as_base_url(value: Any) -> str:
    text = _as_str(value).rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValueError(
            "cần một địa chỉ http(s) không có tham số, ví dụ http://192.168.1.10:8000 "
            "(expected an http(s) URL without query, e.g. http://192.168.1.10:8000)"
        )
    return text


def _as_database_url(value: Any) -> str:
    text = _as_str(value)
    if not text.startswith(("sqlite", "postgresql")):
        raise ValueError(
            "chỉ hỗ trợ sqlite:///đường/dẫn.db hoặc postgresql+psycopg://… "
            "(only sqlite:///path.db or postgresql+psycopg://… are supported)"
        )
    return text


def _as_port(value: Any) -> int:
    port = _as_int(value)
    if not 1 <= port <= 65535:
        raise ValueError("cổng phải từ 1 đến 65535 (port must be 1–65535)")
    return port


def _as_log_level(value: Any) -> str:
    level = _as_str(value).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(
            "một trong DEBUG, INFO, WARNING, ERROR (one of DEBUG, INFO, WARNING, ERROR)"
        )
    return level


def _as_positive_int(value: Any) -> int:
    number = _as_int(value)
    if number <= 0:
        raise ValueError("phải lớn hơn 0 (must be greater than 0)")
    return number


def _as_hour(value: Any) -> int:
    hour = _as_int(value)
    if not 0 <= hour <= 23:
        raise ValueError("giờ phải từ 0 đến 23 (hour must be 0–23)")
    return hour


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("cần true hoặc false (expected true or false)")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "var",
        _as_path,
        "Folder for the SQLite database, attachments and generated media.",
    ),
    Setting(
        "database_url",
        None,
        _as_database_url,
        "SQLAlchemy URL; default sqlite:///<data_dir>/pcmd.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "base_url",
        "http://127.0.0.1:8000",
        _as_base_url,
        "Address phones use to reach the server; every URL in a form list is built from it.",
    ),
    Setting("host", "127.0.0.1", _as_str, "Interface `pcmd serve` listens on."),
    Setting("port", 8000, _as_port, "Port `pcmd serve` listens on."),
    Setting(
        "workers",
        min(2, os.cpu_count() or 1),
        _as_positive_int,
        "Number of server processes for `pcmd serve`; default 2 (1 on a one-core machine).",
    ),
    Setting("log_level", "INFO", _as_log_level, "DEBUG, INFO, WARNING or ERROR."),
    Setting(
        "forms_dir",
        None,
        _as_path,
        "Folder of XLSForm workbooks to build; default: the workbooks shipped with pcmd.",
    ),
    Setting(
        "max_submission_bytes",
        100_000_000,
        _as_positive_int,
        "Largest submission POST accepted (advertised as X-OpenRosa-Accept-Content-Length).",
    ),
    Setting(
        "scheduler",
        True,
        _as_bool,
        "Run the scheduled source syncs inside `pcmd serve` (one process runs them at a time).",
    ),
    Setting(
        "sync_scan_minutes",
        15,
        _as_positive_int,
        "Minutes between light scans of a KoboToolbox source for edits, review changes and "
        "deletions (new records are pulled at every sync).",
    ),
    Setting(
        "pipeline_delay_seconds",
        20,
        _as_positive_int,
        "Seconds the scheduler waits after new data (a submission, a review, an import) before "
        "it updates the indicators, so a burst of uploads makes one run.",
    ),
    Setting(
        "healthz_min_free_mb",
        500,
        _as_positive_int,
        "Free disk (MB) under the data folder below which /healthz answers 503.",
    ),
    Setting(
        "backup_dir",
        None,
        _as_path,
        "Folder for the nightly backups; default <data_dir>/backups.",
    ),
    Setting(
        "backup_keep",
        7,
        _as_positive_int,
        "Nightly backups kept in backup_dir; older nightly backups are deleted.",
    ),
    Setting(
        "backup_hour",
        2,
        _as_hour,
        "Hour (0–23, Vietnam time) at which the scheduler makes the nightly backup.",
    ),
    Setting(
        "session_idle_hours",
        8,
        _as_positive_int,
        "Hours without a request after which a web sign-in ends (sign in again).",
    ),
    Setting(
        "secret_key",
        None,
        _as_str,
        "Key that signs web sessions; set it in production.",
        secret=True,
    ),
    Setting(
        "smtp_host",
        None,
        _as_str,
        "Mail server for reminders; unset: reminders show on the dashboard only.",
    ),
    Setting("smtp_port", 587, _as_port, "Mail server port (587 with STARTTLS, 25 without)."),
    Setting("smtp_starttls", True, _as_bool, "Use STARTTLS with the mail server."),
    Setting("smtp_user", None, _as_str, "Mail server user name, if it asks for one."),
    Setting("smtp_password", None, _as_str, "Mail server password.", secret=True),
    Setting("smtp_from", "pcmd@localhost", _as_str, "Sender address of reminder e-mails."),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


# The `[report]` table of pcmd.toml: who sends the report and who signs it (its cover, in the
# administrative format of Decree 30/2020). Blank fields are left as dotted lines to fill by hand.
REPORT_TEXT_LIMIT = 200


@dataclass(frozen=True)
class ReportSettings:
    parent_agency: str = ""  # cơ quan chủ quản, e.g. UBND TỈNH QUẢNG NGÃI
    agency: str = ""  # cơ quan ban hành, e.g. SỞ Y TẾ
    symbol: str = "BC"  # the part after "Số: …/", e.g. BC-SYT
    place: str = ""  # địa danh, e.g. Quảng Ngãi
    to: tuple[str, ...] = ()  # Kính gửi
    recipients: tuple[str, ...] = ("Như trên", "Lưu: VT")  # Nơi nhận
    signer_authority: str = ""  # KT. GIÁM ĐỐC, TM. ỦY BAN NHÂN DÂN, … (may be empty)
    signer_title: str = ""  # PHÓ GIÁM ĐỐC
    signer_name: str = ""
    dhis2_mapping: Path | None = None  # CSV mapping pcmd codes to DHIS2 uids


REPORT_HELP = {
    "parent_agency": 'cơ quan chủ quản (parent agency), e.g. "UBND TỈNH QUẢNG NGÃI"',
    "agency": 'cơ quan ban hành (issuing agency), e.g. "SỞ Y TẾ"',
    "symbol": 'ký hiệu sau số (symbol after the number), e.g. "BC-SYT"',
    "place": 'địa danh (place), e.g. "Quảng Ngãi"',
    "to": "kính gửi (addressees), a list of strings",
    "recipients": "nơi nhận (recipients), a list of strings",
    "signer_authority": 'quyền hạn (authority), e.g. "KT. GIÁM ĐỐC"',
    "signer_title": 'chức vụ người ký (signer\'s title), e.g. "PHÓ GIÁM ĐỐC"',
    "signer_name": "họ tên người ký (signer's full name)",
    "dhis2_mapping": 'tệp CSV ánh xạ mã DHIS2 (the DHIS2 mapping CSV), e.g. "dhis2-mapping.csv"',
}
SYMBOL_RE = re.compile(r"[A-ZĐ][A-ZĐ0-9]*(?:[-.][A-ZĐ0-9]+)*")


def _report_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key}: cần một chuỗi (expected a string)")
    text = value.strip()
    if len(text) > REPORT_TEXT_LIMIT or any(c in text for c in "\r\n\t"):
        raise ValueError(
            f"{key}: một dòng, tối đa {REPORT_TEXT_LIMIT} ký tự (one line of at most "
            f"{REPORT_TEXT_LIMIT} characters)"
        )
    return text


def parse_report_section(raw: Any, where: str) -> ReportSettings:
    """The `[report]` table, checked: known keys, one-line texts, lists of texts, a symbol in
    capitals (BC-SYT). Raises SettingsError saying which key is wrong and how to fix it."""
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: [report] phải là một bảng (must be a table of settings).")
    unknown = sorted(set(raw) - set(REPORT_HELP))
    values: dict[str, Any] = {}
    key = ""
    try:
        if unknown:
            raise ValueError(
                f"không có {', '.join(unknown)} (unknown key(s)); known: {', '.join(REPORT_HELP)}"
            )
        for key, value in raw.items():
            if key in ("to", "recipients"):
                if not isinstance(value, list):
                    raise ValueError(f"{key}: cần một danh sách chuỗi (expected a list of strings)")
                values[key] = tuple(t for t in (_report_text(key, v) for v in value) if t)
            elif key == "dhis2_mapping":
                values[key] = Path(_report_text(key, value)).expanduser() if value else None
            else:
                values[key] = _report_text(key, value)
        key = "symbol"
        if "symbol" in values and not SYMBOL_RE.fullmatch(values["symbol"]):
            raise ValueError(
                "symbol: chữ in hoa và số, nối bằng dấu gạch ngang (capitals and digits joined "
                "by hyphens)"
            )
    except ValueError as exc:
        fix = f"{key} = {REPORT_HELP[key]}" if key in REPORT_HELP else "remove the unknown key"
        raise SettingsError(
            f"{where}: [report] không hợp lệ — {exc}. (The [report] table is invalid.) Fix: {fix}."
        ) from None
    return ReportSettings(**values)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    forms_dir: Path | None = None
    max_submission_bytes: int = 100_000_000
    scheduler: bool = True
    sync_scan_minutes: int = 15
    pipeline_delay_seconds: int = 20
    healthz_min_free_mb: int = 500
    session_idle_hours: int = 8
    backup_dir: Path = Path("var") / "backups"
    backup_keep: int = 7
    backup_hour: int = 2
    secret_key: str | None = field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "pcmd@localhost"
    report: ReportSettings = field(default_factory=ReportSettings)
    # Where each value came from ("default", "PCMD_PORT", "pcmd.toml", "--port"): `pcmd settings`.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None

    @property
    def attachments_dir(self) -> Path:
        """The content-addressed attachment store (ingest/files.py)."""
        return self.data_dir / "attachments"

    @property
    def secret_key_file(self) -> Path:
        """Where the secret key lives when `secret_key` (PCMD_SECRET_KEY) is not set."""
        return self.data_dir / KEY_FILE_NAME

    @property
    def uic_key_file(self) -> Path:
        """The UIC secret (ingest/uic.py), beside the attachment store; made by `pcmd init`."""
        return self.data_dir / UIC_KEY_FILE_NAME

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, shown value, source) for every setting; secrets are masked."""
        rows = []
        for spec in SETTINGS:
            value = getattr(self, spec.name)
            shown = "(chưa đặt / not set)" if value is None else str(value)
            if spec.secret and value is not None:
                shown = "********"
            rows.append((spec.name, shown, self.sources.get(spec.name, "default")))
        return rows


def _read_config_file(path: Path, explicit: bool) -> dict[str, Any]:
    if not path.exists():
        if explicit:
            raise SettingsError(
                f"Không tìm thấy tệp cấu hình {path} (config file {path} not found). "
                "Fix: check the path given with --config or PCMD_CONFIG."
            )
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"Tệp cấu hình {path} không đúng định dạng TOML (config file is not valid TOML): "
            f"{exc}. "
            "Fix: write it as `name = value` lines, e.g. port = 8000."
        ) from exc
    section = data.get("pcmd", data)
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: [pcmd] must be a table of settings.")
    section = {k: v for k, v in section.items() if k != "report"}
    if "report" in data or "report" in data.get("pcmd", {}):
        section["report"] = parse_report_section(
            data.get("report", data.get("pcmd", {}).get("report")), str(path)
        )
    unknown = sorted(set(section) - set(SETTINGS_BY_NAME) - {"report"})
    if unknown:
        raise SettingsError(
            f"{path}: không có thiết lập {', '.join(unknown)} (unknown setting(s) "
            f"{', '.join(unknown)}). Known settings: {', '.join(SETTINGS_BY_NAME)}."
        )
    return dict(section)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Resolve every setting from overrides, environment, config file and defaults.

    `overrides` holds command-line values (None = not given). `environ` defaults to os.environ.
    """
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(SETTINGS_BY_NAME))
    if unknown:
        raise TypeError(f"unknown setting override(s): {unknown}")

    explicit = config_file is not None or bool(env.get(ENV_PREFIX + "CONFIG"))
    cfg_path = Path(config_file or env.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_FILE)
    file_values = _read_config_file(cfg_path, explicit)

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SETTINGS:
        if spec.name in given:
            raw, source = given[spec.name], "--" + spec.name.replace("_", "-")
        elif spec.env in env and env[spec.env] != "":
            raw, source = env[spec.env], spec.env
        elif spec.name in file_values:
            raw, source = file_values[spec.name], f"{cfg_path} ({spec.name})"
        else:
            values[spec.name] = None if spec.default is None else spec.parse(spec.default)
            sources[spec.name] = "default"
            continue
        try:
            values[spec.name] = spec.parse(raw)
        except ValueError as exc:
            looked = f"--{spec.name.replace('_', '-')}, {spec.env}, {cfg_path}"
            shown = "***" if spec.secret else repr(raw)
            raise SettingsError(
                f"Thiết lập `{spec.name}` lấy từ {source} không hợp lệ: {shown} — {exc}. "
                f"(Setting `{spec.name}` from {source} is invalid; looked in {looked}.) "
                f"Fix: {spec.help}"
            ) from None
        sources[spec.name] = source

    if values["database_url"] is None:
        values["database_url"] = f"sqlite:///{values['data_dir'] / 'pcmd.db'}"
        sources["database_url"] = "default (data_dir)"
    if values["backup_dir"] is None:
        values["backup_dir"] = values["data_dir"] / "backups"
        sources["backup_dir"] = "default (data_dir)"
    known = {f.name for f in fields(Settings)} - {"sources", "report"}
    report = file_values.get("report", ReportSettings())
    return Settings(
        **{k: v for k, v in values.items() if k in known}, report=report, sources=sources
    )
