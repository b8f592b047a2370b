"""Sources as configuration: which KoboToolbox assets and ODK Central forms pcmd pulls.

A source names the environment variables that hold its secrets (a Kobo API token, a Central
e-mail and password, a webhook secret); the values are read only when a sync or a webhook
needs them, and are never written to the database, a log or the screen.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, Form, Source, SourceRecord, SyncState
from pcmd.errors import SyncError

Kind = Literal["kobo", "central"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
# sync_state rows that are not sources' cursors (pcmd.pipeline.run keeps its own there)
RESERVED_NAMES = frozenset({"pipeline"})


@dataclass(frozen=True)
class SourceConfig:
    """A source as the runner and the webhook use it (detached from any session)."""

    id: int
    name: str
    kind: Kind
    url: str
    form_id: str
    asset_uid: str | None = None
    project_id: int | None = None
    token_env: str | None = None
    user_env: str | None = None
    password_env: str | None = None
    webhook_secret_env: str | None = None
    interval_minutes: int = 15
    enabled: bool = True

    @classmethod
    def of(cls, row: Source) -> SourceConfig:
        kind: Kind = "central" if row.kind == "central" else "kobo"
        return cls(
            id=row.id,
            name=row.name,
            kind=kind,
            url=row.url,
            form_id=row.form_id,
            asset_uid=row.asset_uid,
            project_id=row.project_id,
            token_env=row.token_env,
            user_env=row.user_env,
            password_env=row.password_env,
            webhook_secret_env=row.webhook_secret_env,
            interval_minutes=row.interval_minutes,
            enabled=row.enabled,
        )

    def secret(
        self, env_name: str | None, what: str, environ: Mapping[str, str] | None = None
    ) -> str:
        """The value of the environment variable `env_name`; SyncError naming it if unset."""
        env = os.environ if environ is None else environ
        value = env.get(env_name or "", "")
        if not env_name or not value:
            raise SyncError(
                f"Nguồn {self.name}: biến môi trường {env_name or '(chưa khai báo)'} chứa {what} "
                f"chưa được đặt (source {self.name}: the environment variable "
                f"{env_name or '(none given)'} holding the {what} is not set). Fix: export "
                f"{env_name or 'VAR'}=… in the environment of pcmd serve / pcmd sync."
            )
        return value


def _check(value: str, pattern: re.Pattern[str], what: str, example: str) -> str:
    if not pattern.match(value):
        raise SyncError(f"{what} không hợp lệ: {value!r} (invalid {what}); e.g. {example}.")
    return value


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise SyncError(
            f"Địa chỉ máy chủ không hợp lệ: {url!r} (the server URL must be http(s)://host, "
            "e.g. https://kf.kobotoolbox.org or https://central.example.org)."
        )
    return url.strip().rstrip("/")


def add_source(
    session: Session,
    *,
    name: str,
    kind: Kind,
    url: str,
    form_id: str,
    asset_uid: str | None = None,
    project_id: int | None = None,
    token_env: str | None = None,
    user_env: str | None = None,
    password_env: str | None = None,
    webhook_secret_env: str | None = None,
    interval_minutes: int = 15,
    actor: str = "cli",
) -> SourceConfig:
    _check(name, NAME_RE, "tên nguồn (source name)", "kobo-quang-ngai")
    if name in RESERVED_NAMES:
        raise SyncError(
            f"Tên {name!r} đã dành cho pcmd (the name {name!r} is reserved: the pipeline keeps "
            "its own cursor under it). Fix: pick another name, e.g. kobo-quang-ngai."
        )
    envs = {
        "token_env": token_env,
        "user_env": user_env,
        "password_env": password_env,
        "webhook_secret_env": webhook_secret_env,
    }
    for label, env in envs.items():
        if env is not None:
            _check(
                env,
                ENV_RE,
                f"tên biến môi trường {label} (environment variable name)",
                "KOBO_TOKEN",
            )
    if kind == "kobo" and not (asset_uid and token_env):
        raise SyncError(
            "Nguồn kobo cần --asset và --token-env (a kobo source needs --asset and --token-env)."
        )
    if kind == "central" and not (project_id and user_env and password_env):
        raise SyncError(
            "Nguồn central cần --project, --user-env và --password-env (a central source needs "
            "--project, --user-env and --password-env)."
        )
    if interval_minutes < 1:
        raise SyncError("--interval phải từ 1 phút (the interval must be at least 1 minute).")
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise SyncError(
            f"Đã có nguồn tên {name} (a source named {name} exists). Fix: pick another name, or "
            f"`pcmd source remove {name}` first."
        )
    if session.scalar(select(Form.id).where(Form.form_id == form_id)) is None:
        known = ", ".join(session.scalars(select(Form.form_id).order_by(Form.form_id))) or "—"
        raise SyncError(
            f"pcmd không có biểu mẫu {form_id!r} (no form {form_id!r}); known: {known}. The "
            "remote form must be one of pcmd's forms (the same XLSForm). Fix: `pcmd forms build`."
        )
    row = Source(
        name=name,
        kind=kind,
        url=_check_url(url),
        form_id=form_id,
        asset_uid=asset_uid,
        project_id=project_id,
        token_env=token_env,
        user_env=user_env,
        password_env=password_env,
        webhook_secret_env=webhook_secret_env,
        interval_minutes=interval_minutes,
        enabled=True,
    )
    session.add(row)
    session.flush()
    # Names of variables only: the audit log must never hold a secret.
    session.add(
        AuditLog(
            actor=actor,
            action="source.add",
            target=name,
            details={
                "kind": kind,
                "url": row.url,
                "form_id": form_id,
                **{k: v for k, v in envs.items() if v},
            },
        )
    )
    return SourceConfig.of(row)


def list_sources(session: Session, *, enabled_only: bool = False) -> list[SourceConfig]:
    query = select(Source).order_by(Source.name)
    if enabled_only:
        query = query.where(Source.enabled.is_(True))
    return [SourceConfig.of(row) for row in session.scalars(query)]


def get_source(session: Session, name: str) -> SourceConfig:
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        known = ", ".join(session.scalars(select(Source.name).order_by(Source.name))) or "—"
        raise SyncError(
            f"Không có nguồn {name!r} (no source named {name!r}); known: {known}. "
            "Fix: `pcmd source list`."
        )
    return SourceConfig.of(row)


def remove_source(session: Session, name: str, *, actor: str = "cli") -> SourceConfig:
    """Forget a source, its cursor and its record map. Submissions it brought stay."""
    source = get_source(session, name)
    session.execute(delete(SourceRecord).where(SourceRecord.source_id == source.id))
    session.execute(delete(SyncState).where(SyncState.source == source.name))
    session.execute(delete(Source).where(Source.id == source.id))
    session.add(AuditLog(actor=actor, action="source.remove", target=name, details={}))
    return source
