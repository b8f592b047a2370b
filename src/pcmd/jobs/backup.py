"""Backups of a running installation: `make_backup` writes one .tar (see jobs/archive.py) holding
a consistent snapshot of the database, every attachment file that snapshot names, the secret key
and a manifest; `nightly_backup` makes the scheduler's dated copy in `backup_dir` and keeps the
newest `backup_keep` of them.

Consistency: the database is read in one transaction that sees a single moment — SQLite's
online backup API on a connection holding a read transaction (writers carry on, WAL), or
PostgreSQL's pg_dump on a snapshot exported from a REPEATABLE READ transaction — and the counts
and the list of attachment files come from that same transaction. Attachment files are written
to the store before the row naming them commits, and never change, so copying the listed files
after the snapshot finds every one of them.

The backup is written in a private staging folder next to its destination and only then linked
or renamed into place (file 0600, folders 0700: it holds personal data and the secret key), so a
backup under its final name is always complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Table, func, select

import pcmd
from pcmd.db.tables import ATT, SUB, VER
from pcmd.errors import BackupError
from pcmd.ingest.files import FileStore, sync_path
from pcmd.jobs import postgres
from pcmd.jobs.archive import (
    DB_MEMBER,
    KEY_FROM_ENV,
    KEY_INCLUDED,
    KEY_MEMBER,
    KEY_NONE,
    MANIFEST,
    UIC_KEY_MEMBER,
    ArchiveWriter,
    Manifest,
    attachment_member,
)
from pcmd.masterdata.periods import VIETNAM
from pcmd.settings import Settings

NIGHTLY_RE = re.compile(r"^pcmd-backup-(\d{4}-\d{2}-\d{2})\.tar$")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    submissions: int
    attachment_files: int
    schema_revision: str
    secret_key: str  # archive.KEY_INCLUDED, KEY_FROM_ENV (not in the backup) or KEY_NONE
    missing_attachments: tuple[str, ...] = ()  # named by the database, not in the store
    damaged_attachments: tuple[str, ...] = ()  # in the store, bytes no longer match their name
    pruned: tuple[Path, ...] = ()  # older nightly backups deleted


@dataclass
class _Snapshot:
    revision: str
    counts: dict[str, int]
    attachments: list[str]  # sha256 of every file the snapshot's attachment rows name
    info: dict[str, str] = field(default_factory=dict)


def default_name(now: dt.datetime) -> str:
    """The file name `pcmd backup DIR` writes into DIR (never pruned: not a nightly name)."""
    return f"pcmd-backup-{now.astimezone(VIETNAM):%Y-%m-%d-%H%M%S}.tar"


def nightly_name(now: dt.datetime) -> str:
    return f"pcmd-backup-{now.astimezone(VIETNAM):%Y-%m-%d}.tar"


def make_backup(
    settings: Settings,
    engine: Engine,
    out: Path,
    *,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> BackupResult:
    """Back the installation up into `out` (a file, or an existing folder to write a dated file
    in). An existing file is refused unless `overwrite`."""
    now = now or dt.datetime.now(dt.UTC)
    target = out / default_name(now) if out.is_dir() else out
    if target.exists() and not overwrite:
        raise BackupError(
            f"Tệp {target} đã có; pcmd không ghi đè bản sao lưu (the file {target} already "
            "exists; pcmd does not overwrite a backup). Fix: give a new file name, or a folder "
            "to write a dated file in."
        )
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pcmd-backup-") as tmp:
            partial = Path(tmp) / "backup.tar"
            result = _write(settings, engine, Path(tmp), partial, now)
            _publish(partial, target, overwrite=overwrite)
    except OSError as exc:
        raise BackupError(
            f"Không ghi được bản sao lưu {target} (cannot write the backup): "
            f"{exc.strerror or exc}. Fix: check that the folder is writable and has free space."
        ) from None
    return dataclasses.replace(result, path=target, size=target.stat().st_size)


def nightly_backup(
    settings: Settings, engine: Engine, *, now: dt.datetime | None = None
) -> BackupResult:
    """The scheduler's backup: `<backup_dir>/pcmd-backup-<Vietnam date>.tar` (a second run on
    the same day replaces that day's file), then only the newest `backup_keep` nightly files
    are kept. Files of other names in backup_dir are never touched."""
    now = now or dt.datetime.now(dt.UTC)
    result = make_backup(
        settings, engine, settings.backup_dir / nightly_name(now), now=now, overwrite=True
    )
    pruned = prune_backups(settings.backup_dir, settings.backup_keep)
    return dataclasses.replace(result, pruned=tuple(pruned))


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` nightly backups (named pcmd-backup-YYYY-MM-DD.tar) in
    `folder`; returns what was deleted. Nothing else is ever deleted."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    dated = sorted(
        (match.group(1), entry)
        for entry in folder.iterdir()
        if (match := NIGHTLY_RE.match(entry.name))
        and entry.is_file()
        and not entry.is_symlink()
        and _is_date(match.group(1))
    )
    doomed = [path for _day, path in dated[:-keep]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _write(
    settings: Settings, engine: Engine, staging: Path, partial: Path, now: dt.datetime
) -> BackupResult:
    kind = engine.dialect.name
    if kind not in DB_MEMBER:
        raise BackupError(f"pcmd cannot back up a {kind} database.")
    db_file = staging / "database"
    snapshot = _snapshot(engine, db_file)
    store = FileStore(settings.attachments_dir)
    files: dict[str, str] = {}
    present: list[str] = []
    missing: list[str] = []
    damaged: list[str] = []
    with ArchiveWriter(partial) as archive:
        files[DB_MEMBER[kind]] = archive.add_file(DB_MEMBER[kind], db_file)
        db_file.unlink()
        for sha in snapshot.attachments:
            try:
                got = archive.add_file(attachment_member(sha), store.path_for(sha))
            except FileNotFoundError:
                missing.append(sha)
                continue
            (present if got == sha else damaged).append(sha)
        if settings.secret_key is not None:
            key = KEY_FROM_ENV
        elif settings.secret_key_file.is_file():
            files[KEY_MEMBER] = archive.add_file(KEY_MEMBER, settings.secret_key_file)
            key = KEY_INCLUDED
        else:
            key = KEY_NONE
        if settings.uic_key_file.is_file():
            files[UIC_KEY_MEMBER] = archive.add_file(UIC_KEY_MEMBER, settings.uic_key_file)
        manifest = Manifest(
            pcmd_version=pcmd.__version__,
            created_at=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            database_kind=kind,
            schema_revision=snapshot.revision,
            counts={**snapshot.counts, "attachment_files": len(present)},
            files=files,
            attachments=present,
            missing_attachments=missing,
            damaged_attachments=damaged,
            secret_key=key,
            database_info=snapshot.info,
        )
        archive.add_bytes(MANIFEST, manifest.to_json())
    return BackupResult(
        path=partial,
        size=0,
        submissions=snapshot.counts["submissions"],
        attachment_files=len(present),
        schema_revision=snapshot.revision,
        secret_key=key,
        missing_attachments=tuple(missing),
        damaged_attachments=tuple(damaged),
    )


def _snapshot(engine: Engine, dest: Path) -> _Snapshot:
    """Copy the database to `dest` as it is at one moment, and read what the copy holds."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            snapshot = _read(conn)  # opens the read transaction the copy then sees
            source = conn.connection.driver_connection
            assert isinstance(source, sqlite3.Connection)
            copy = sqlite3.connect(dest)
            try:
                source.backup(copy)  # in one step, inside the read transaction
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                copy.close()
            return snapshot
    repeatable = engine.execution_options(isolation_level="REPEATABLE READ")
    with repeatable.connect() as conn:
        snapshot = _read(conn)
        snapshot.info = postgres.dump(engine, conn, dest)
        conn.rollback()
    return snapshot


def _read(conn: Connection) -> _Snapshot:
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        raise BackupError(
            "CSDL chưa được khởi tạo, không có gì để sao lưu (the database has no pcmd tables: "
            "nothing to back up). Fix: check PCMD_DATABASE_URL, or run `pcmd init` first."
        )

    shas: list[str] = sorted(conn.execute(select(ATT.c.sha256).distinct()).scalars())
    return _Snapshot(revision, row_counts(conn), shas)


def row_counts(conn: Connection) -> dict[str, int]:
    """What the manifest counts, and restore checks again."""

    def count(table: Table) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    return {"submissions": count(SUB), "submission_versions": count(VER), "attachments": count(ATT)}


def _publish(partial: Path, target: Path, *, overwrite: bool) -> None:
    """Put the finished file under its final name, durably."""
    os.chmod(partial, 0o600)
    sync_path(partial)
    if overwrite:
        os.replace(partial, target)
    else:
        try:
            os.link(partial, target)  # fails if another backup took the name meanwhile
        except FileExistsError:
            raise BackupError(
                f"Tệp {target} đã có (the file {target} already exists). Fix: give a new name."
            ) from None
        except OSError:
            os.replace(partial, target)  # a filesystem without hard links (a FAT USB stick)
    sync_path(target.parent)
