"""Restore a backup (jobs/archive.py) into an empty installation: the one the settings name
(database_url, data_dir). The server must not be running on it while this runs.

"Empty" means no submission in the database and no attachment file in the data dir; anything
else is refused unless `force`, which replaces the database and adds the backup's files to the
store. Nothing is written before the backup is known to be complete (every file the manifest
lists is present) and to fit (same kind of database, a schema revision this pcmd knows); each
file is checked against its sha256 as it is read, the database copy before it is put in place.
Then the schema is migrated to this pcmd's head, and the restored rows are counted against the
manifest.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from pcmd.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade
from pcmd.db.tables import ATT, METADATA, SUB
from pcmd.errors import BackupError
from pcmd.ingest.files import FileStore, sync_path
from pcmd.jobs import postgres
from pcmd.jobs.archive import (
    DB_MEMBER,
    KEY_FROM_ENV,
    KEY_INCLUDED,
    KEY_MEMBER,
    UIC_KEY_MEMBER,
    ArchiveReader,
    Manifest,
    attachment_member,
)
from pcmd.jobs.backup import row_counts
from pcmd.settings import Settings

KEY_RESTORED = "restored"  # written to <data_dir>/secret_key
COUNTED = ("submissions", "submission_versions", "attachments")


@dataclass(frozen=True)
class RestoreResult:
    submissions: int
    attachment_files: int
    schema_from: str  # the backup's revision
    schema_to: str  # after migrating to this pcmd's head
    secret_key: str  # KEY_RESTORED, or archive.KEY_FROM_ENV / KEY_NONE: nothing restored
    notes: tuple[str, ...] = ()  # what the operator must know or do, Vietnamese and English


def restore_backup(
    settings: Settings, engine: Engine, source: Path, *, force: bool = False
) -> RestoreResult:
    notes: list[str] = []
    with ArchiveReader(source) as archive:
        manifest = archive.manifest()
        kind = engine.dialect.name
        _check_fits(manifest, kind, source)
        _check_empty(settings, engine, force)
        work_dir = _work_dir(settings, engine)
        with tempfile.TemporaryDirectory(dir=work_dir, prefix=".pcmd-restore-") as tmp:
            member = DB_MEMBER[kind]
            db_copy = Path(tmp) / "database"
            with db_copy.open("wb") as out:
                archive.copy_member(member, out, manifest.files[member])
                out.flush()
                os.fsync(out.fileno())
            _restore_attachments(archive, manifest, settings)
            if kind == "sqlite":
                _place_sqlite(engine, db_copy)
            else:
                _load_postgres(engine, db_copy, manifest, notes)
        key = _restore_key(archive, manifest, settings, notes)
        _restore_uic_key(archive, manifest, settings)
    _before, after = upgrade(engine)
    _verify(settings, engine, manifest, notes)
    return RestoreResult(
        submissions=manifest.counts["submissions"],
        attachment_files=len(manifest.attachments),
        schema_from=manifest.schema_revision,
        schema_to=after,
        secret_key=key,
        notes=tuple(notes),
    )


def _check_fits(manifest: Manifest, kind: str, source: Path) -> None:
    if manifest.database_kind != kind:
        raise BackupError(
            f"{source} là bản sao lưu CSDL {manifest.database_kind}, còn cài đặt này dùng "
            f"{kind} ({source} holds a {manifest.database_kind} database; this installation "
            f"uses {kind}). Fix: restore into an installation with a {manifest.database_kind} "
            "database (set PCMD_DATABASE_URL accordingly)."
        )
    try:
        known = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(manifest.schema_revision)
    except (RevisionError, CommandError):
        known = None
    if known is None:
        raise BackupError(
            f"{source} được tạo bởi pcmd mới hơn (made by a newer pcmd {manifest.pcmd_version}: "
            f"its schema revision {manifest.schema_revision} is unknown here). Fix: install "
            f"pcmd {manifest.pcmd_version} or newer, then restore."
        )


def _check_empty(settings: Settings, engine: Engine, force: bool) -> None:
    try:
        with engine.connect() as conn:
            has = inspect(conn).has_table(SUB.name)
            submissions = row_counts(conn)["submissions"] if has else 0
    except SQLAlchemyError as exc:
        raise BackupError(
            f"Không mở được CSDL đích (cannot open the target database "
            f"{engine.url.render_as_string(hide_password=True)}): {exc.__class__.__name__}. "
            "Fix: check PCMD_DATABASE_URL and that the database server is running."
        ) from None
    has_files = next(_stored_files(settings.attachments_dir), None) is not None
    if (submissions or has_files) and not force:
        what = []
        if submissions:
            what.append(f"{submissions} phiếu (submissions) in the database")
        if has_files:
            what.append(f"tệp đính kèm (attachment files) in {settings.attachments_dir}")
        raise BackupError(
            f"Cài đặt này không trống: {'; '.join(what)}. Khôi phục sẽ thay thế CSDL (this "
            "installation is not empty; restoring replaces its database). Fix: restore into a "
            "new data_dir and database, or add --force to replace this one (an earlier restore "
            "that did not finish also needs --force)."
        )


def _stored_files(root: Path) -> Iterator[Path]:
    """Attachment files in the store (<root>/ab/cdef…), not its temporary folder."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if len(folder.name) == 2 and folder.is_dir():
            yield from (p for p in folder.iterdir() if p.is_file())


def _work_dir(settings: Settings, engine: Engine) -> Path:
    """Where the database copy waits: next to the SQLite file (so it can be renamed into place),
    else in data_dir."""
    folder = Path(engine.url.database or "").parent if engine.dialect.name == "sqlite" else None
    folder = folder or settings.data_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _restore_attachments(archive: ArchiveReader, manifest: Manifest, settings: Settings) -> None:
    store = FileStore(settings.attachments_dir)
    for sha in manifest.attachments:
        if store.path_for(sha).is_file():
            continue  # content-addressed: the same bytes are already there
        handle, temp = store.temp_file()
        try:
            with handle:
                archive.copy_member(attachment_member(sha), handle, sha)
                handle.flush()
                os.fsync(handle.fileno())
            store.put_temp(temp, sha)
        finally:
            temp.unlink(missing_ok=True)


def _place_sqlite(engine: Engine, db_copy: Path) -> None:
    target = Path(engine.url.database or "")
    engine.dispose()  # no pooled connection may keep the old file open
    # A write-ahead log left from the old file would be replayed into the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.chmod(db_copy, 0o600)
    os.replace(db_copy, target)
    sync_path(target.parent)


def _load_postgres(engine: Engine, dump: Path, manifest: Manifest, notes: list[str]) -> None:
    import psycopg

    tables = [t.name for t in reversed(METADATA.sorted_tables)]
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.begin() as conn:
            postgres.drop_pcmd_tables(conn, tables)
            others = postgres.schema_tables(conn)
        command.upgrade(alembic_config(engine), manifest.schema_revision)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"Không tạo được cấu trúc CSDL {manifest.schema_revision} (cannot create the "
            f"schema of the backup): {exc.__class__.__name__}. Fix: check that {where} is "
            "writable."
        ) from None
    dumped_by = manifest.database_info.get("pg_dump_version", "")
    try:
        with engine.begin() as conn:
            pcmd_tables = postgres.schema_tables(conn) - others
            skipped = postgres.load_data(conn, dump, dumped_by, pcmd_tables)
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise BackupError(
            f"Không nạp được dữ liệu của bản sao lưu vào {where}; không nạp gì (cannot load the "
            f"backup's rows; nothing was loaded): {str(exc).splitlines()[0]}. Fix: run the "
            "restore again with --force; if it fails again, the backup does not fit this "
            "database."
        ) from None
    if skipped:
        notes.append(
            f"Bỏ qua các bảng không thuộc pcmd (tables that are not pcmd's were not restored): "
            f"{', '.join(skipped)}."
        )


def _restore_uic_key(archive: ArchiveReader, manifest: Manifest, settings: Settings) -> bool:
    """The UIC secret back in place (without it the same person gets another key)."""
    if UIC_KEY_MEMBER not in manifest.files:
        return False
    buffer = io.BytesIO()
    archive.copy_member(UIC_KEY_MEMBER, buffer, manifest.files[UIC_KEY_MEMBER])
    _write_private(settings.uic_key_file, buffer.getvalue())
    return True


def _restore_key(
    archive: ArchiveReader, manifest: Manifest, settings: Settings, notes: list[str]
) -> str:
    if manifest.secret_key == KEY_INCLUDED:
        buffer = io.BytesIO()
        archive.copy_member(KEY_MEMBER, buffer, manifest.files[KEY_MEMBER])
        _write_private(settings.secret_key_file, buffer.getvalue())
        env_key = settings.secret_key
        if env_key is not None and env_key.encode("utf-8") != buffer.getvalue().strip():
            notes.append(
                "PCMD_SECRET_KEY đang đặt ở máy này và khác khoá đã khôi phục; nó được ưu tiên "
                "(PCMD_SECRET_KEY is set here, differs from the restored key and wins over it). "
                "Unset it, or set it to the content of "
                f"{settings.secret_key_file}, so the QR codes of existing app users can be "
                "shown again."
            )
        return KEY_RESTORED
    if manifest.secret_key == KEY_FROM_ENV and settings.secret_key is None:
        notes.append(
            "Bản sao lưu không chứa khoá bí mật vì máy cũ dùng PCMD_SECRET_KEY (the backup has "
            "no secret key: the old machine used PCMD_SECRET_KEY). Set PCMD_SECRET_KEY here to "
            "the same value before serving; with another key the app users' tokens still work "
            "but their QR codes cannot be shown again."
        )
    return manifest.secret_key


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.restore.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    sync_path(path.parent)


def _verify(settings: Settings, engine: Engine, manifest: Manifest, notes: list[str]) -> None:
    expected = {name: manifest.counts[name] for name in COUNTED}
    store = FileStore(settings.attachments_dir)
    with engine.connect() as conn:
        found = row_counts(conn)
        named: set[str] = set(conn.execute(select(ATT.c.sha256).distinct()).scalars())
    absent = sorted(sha for sha in named if not store.path_for(sha).is_file())
    known_gaps = set(manifest.missing_attachments) | set(manifest.damaged_attachments)
    if found != expected or set(absent) - known_gaps:
        raise BackupError(
            f"CSDL đã khôi phục không khớp bản sao lưu (the restored installation does not match "
            f"the backup: expected {expected}, found {found}, {len(absent)} attachment file(s) "
            "absent). Fix: run the restore again with --force; if it fails again, the backup is "
            "damaged: use another one."
        )
    if absent:
        notes.append(
            f"{len(absent)} tệp đính kèm đã thiếu hoặc hỏng từ trước khi sao lưu "
            f"({len(absent)} attachment file(s) were already missing or damaged on the old "
            "machine when the backup was made); their submissions are restored without them."
        )
