"""The one settings loader.

Precedence, highest first: command-line option, `PCMD_*` environment variable, `pcmd.toml`
(path from `--config`, `PCMD_CONFIG`, else `./pcmd.toml` when it exists), then the default.
Every setting is declared once in SETTINGS; that list feeds the loader, `pcmd settings` and
the docs.
Nothing here runs at import time: callers pass the environment and overrides in.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pcmd.errors import SettingsError
from pcmd.settings.catalogue import ENV_PREFIX, SETTINGS, SETTINGS_BY_NAME
from pcmd.settings.report import ReportSettings, parse_report_section

DEFAULT_CONFIG_FILE = "pcmd.toml"
# The installation's secret key, when PCMD_SECRET_KEY is not set: <data_dir>/secret_key.
KEY_FILE_NAME = "secret_key"
# The secret that turns a support record's UIC answers into a key (DESIGN §6b): <data_dir>/uic_key.
UIC_KEY_FILE_NAME = "uic_key"


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
