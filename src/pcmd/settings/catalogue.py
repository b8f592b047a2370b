"""Every setting, declared once: its name, default, how a value is read and checked, and the
help `pcmd settings` and the docs show. The loader (`pcmd.settings`) walks this table."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "PCMD_"


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
