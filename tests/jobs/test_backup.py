"""Backups and restore (jobs/backup.py, jobs/restore.py): a backup restores into an empty
installation with every submission, attachment file and the secret key; damaged, cut-short or
unfitting backups are refused before anything is written; nightly backups keep the newest N."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text

from pcmd.db.engine import make_engine, transaction
from pcmd.db.migrate import MIGRATIONS_DIR, alembic_config, current_revision, head_revision
from pcmd.db.models import Attachment, Submission
from pcmd.errors import BackupError
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry
from pcmd.jobs import postgres
from pcmd.jobs.archive import MANIFEST, ArchiveReader
from pcmd.jobs.backup import make_backup, nightly_backup, prune_backups
from pcmd.jobs.restore import KEY_RESTORED, restore_backup
from pcmd.settings import Settings, load_settings
from tests.server.collect import JPEG, load_forms, new_id, outreach_xml

NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    return FileStore(settings.attachments_dir)


@pytest.fixture
def target(reference_url: str, tmp_path: Path) -> Settings:
    """An empty installation on a second database of the test's kind."""
    return load_settings(
        {"database_url": reference_url, "data_dir": str(tmp_path / "restored")}, environ={}
    )


@pytest.fixture
def target_engine(target: Settings) -> Iterator[Engine]:
    eng = make_engine(target.database_url)
    yield eng
    eng.dispose()


def add_submissions(engine: Engine, store: FileStore, n: int) -> dict[str, str]:
    """n submissions, each with a photo of its own bytes; returns instanceID → photo sha256."""
    made = {}
    for i in range(n):
        content = JPEG + i.to_bytes(4, "big")
        sha, _path = store.put_bytes(content)
        iid = new_id()
        photo = IncomingFile("p.jpg", "image/jpeg", sha, len(content))
        xml = outreach_xml(iid, students=i, photo="p.jpg")
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa", files=(photo,)))
        made[iid] = sha
    return made


def stored(engine: Engine) -> dict[str, str]:
    with transaction(engine) as s:
        rows = s.execute(
            select(Submission.instance_id, Attachment.sha256).join(
                Attachment, Attachment.submission_id == Submission.id
            )
        )
        return dict(rows.all())


def rewrite_manifest(path: Path, **changes: object) -> None:
    """The same backup with some manifest fields changed (as another pcmd might write them)."""
    import json

    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, content in members:
            if member.name == MANIFEST:
                content = json.dumps({**json.loads(content), **changes}).encode()
                member.size = len(content)
            tar.addfile(member, io.BytesIO(content))


def test_backup__restore_into_empty__every_submission_file_and_key(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    made = add_submissions(engine, store, 5)
    key = settings.secret_key_file
    key.write_text("ab" * 32 + "\n")
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    assert (result.submissions, result.attachment_files) == (5, 5)
    assert result.secret_key == "included"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left

    restored = restore_backup(target, target_engine, result.path)
    assert (restored.submissions, restored.attachment_files) == (5, 5)
    assert restored.secret_key == KEY_RESTORED
    assert restored.schema_to == head_revision()
    assert stored(target_engine) == made
    target_store = FileStore(target.attachments_dir)
    for sha in made.values():
        assert hashlib.sha256(target_store.path_for(sha).read_bytes()).hexdigest() == sha
    assert target.secret_key_file.read_bytes() == key.read_bytes()
    assert stat.S_IMODE(target.secret_key_file.stat().st_mode) == 0o600


def test_backup__manifest__counts_versions_and_every_file(
    settings: Settings, engine: Engine, store: FileStore, tmp_path: Path
) -> None:
    made = add_submissions(engine, store, 3)
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    with ArchiveReader(result.path) as archive:
        manifest = archive.manifest()
    assert manifest.counts == {
        "submissions": 3,
        "submission_versions": 3,
        "attachments": 3,
        "attachment_files": 3,
    }
    assert manifest.schema_revision == head_revision()
    assert manifest.database_kind == engine.dialect.name
    assert sorted(manifest.attachments) == sorted(made.values())
    assert manifest.created_at == "2026-11-23T03:00:00+00:00"


def test_backup__into_a_folder__dated_file(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    result = make_backup(settings, engine, folder, now=NOW)
    assert result.path == folder / "pcmd-backup-2026-11-23-100000.tar"  # Vietnam time


def test_backup__file_exists__refused_file_unchanged(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    out.write_bytes(b"someone's file")
    with pytest.raises(BackupError, match="already exists"):
        make_backup(settings, engine, out, now=NOW)
    assert out.read_bytes() == b"someone's file"


def test_backup__secret_key_from_environment__not_included_restore_says_so(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    add_submissions(engine, store, 1)
    from_env = replace(settings, secret_key="shared-by-every-server")
    result = make_backup(from_env, engine, tmp_path / "b.tar", now=NOW)
    assert result.secret_key == "PCMD_SECRET_KEY"
    with tarfile.open(result.path) as tar:
        assert not [n for n in tar.getnames() if n.startswith("keys/")]
    restored = restore_backup(target, target_engine, result.path)
    assert restored.secret_key == "PCMD_SECRET_KEY"
    assert any("PCMD_SECRET_KEY" in note for note in restored.notes)
    assert not target.secret_key_file.exists()


def test_backup__attachment_missing_from_store__reported_restore_notes_it(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    made = add_submissions(engine, store, 2)
    lost = next(iter(made.values()))
    store.path_for(lost).unlink()
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    assert (result.missing_attachments, result.attachment_files) == ((lost,), 1)
    restored = restore_backup(target, target_engine, result.path)
    assert restored.submissions == 2
    assert any("already missing" in note for note in restored.notes)


def test_restore__target_has_submissions__refused_unless_force(
    settings: Settings, engine: Engine, store: FileStore, tmp_path: Path
) -> None:
    made = add_submissions(engine, store, 2)
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    extra = add_submissions(engine, store, 1)
    with pytest.raises(BackupError, match=r"3 phiếu \(submissions\).*--force"):
        restore_backup(settings, engine, result.path)
    assert len(stored(engine)) == 3
    restore_backup(settings, engine, result.path, force=True)
    assert stored(engine) == made
    assert store.path_for(next(iter(extra.values()))).exists()  # files are only ever added


def test_restore__attachment_files_in_data_dir__refused(
    settings: Settings,
    engine: Engine,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    FileStore(target.attachments_dir).put_bytes(b"left over")
    with pytest.raises(BackupError, match="attachment files"):
        restore_backup(target, target_engine, result.path)


@pytest.mark.parametrize("damage", ["flipped_byte", "cut_short", "not_a_tar"])
def test_restore__damaged_backup__refused_nothing_written(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
    damage: str,
) -> None:
    add_submissions(engine, store, 2)
    path = make_backup(settings, engine, tmp_path / "b.tar", now=NOW).path
    content = bytearray(path.read_bytes())
    if damage == "flipped_byte":
        content[2048] ^= 0xFF  # inside the database, the first member
        needle = "damaged"
    elif damage == "cut_short":
        del content[len(content) // 2 :]
        needle = "not a complete pcmd backup"
    else:
        content = bytearray(b"PK\x03\x04 a zip file")
        needle = "not a complete pcmd backup"
    path.write_bytes(bytes(content))
    with pytest.raises(BackupError, match=needle):
        restore_backup(target, target_engine, path)
    assert not target.attachments_dir.exists() or not any(target.attachments_dir.rglob("*"))
    assert not target.secret_key_file.exists()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"schema_revision": "9999"}, "newer pcmd"),
        ({"database_kind": "oracle"}, "holds a oracle database"),
        ({"format_version": 99}, "backup format 99"),
    ],
)
def test_restore__backup_does_not_fit__refused(
    settings: Settings,
    engine: Engine,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
    changes: dict[str, object],
    needle: str,
) -> None:
    path = make_backup(settings, engine, tmp_path / "b.tar", now=NOW).path
    rewrite_manifest(path, **changes)
    with pytest.raises(BackupError, match=needle):
        restore_backup(target, target_engine, path)


def test_restore__backup_of_older_schema__migrated_to_head(
    settings: Settings, target: Settings, target_engine: Engine, tmp_path: Path
) -> None:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(head_revision())
    assert head is not None
    assert isinstance(head.down_revision, str)
    old = make_engine(settings.database_url)
    try:
        command.upgrade(alembic_config(old), head.down_revision)
        result = make_backup(settings, old, tmp_path / "b.tar", now=NOW)
    finally:
        old.dispose()
    assert result.schema_revision == head.down_revision
    restored = restore_backup(target, target_engine, result.path)
    assert (restored.schema_from, restored.schema_to) == (head.down_revision, head_revision())
    assert current_revision(target_engine) == head_revision()


def test_backup__database_not_initialised__clear_error(settings: Settings, tmp_path: Path) -> None:
    empty = make_engine(settings.database_url)
    try:
        with pytest.raises(BackupError, match="pcmd init"):
            make_backup(settings, empty, tmp_path / "b.tar", now=NOW)
    finally:
        empty.dispose()
    assert not (tmp_path / "b.tar").exists()


def test_nightly_backup__nine_nights__newest_three_kept_others_untouched(
    settings: Settings, engine: Engine
) -> None:
    settings = replace(settings, backup_keep=3)
    folder = settings.backup_dir
    folder.mkdir(parents=True)
    theirs = [
        "pcmd-backup-2020-01-01-120000.tar",  # a manual `pcmd backup DIR`
        "pcmd-backup-2020-01-01.tar.bak",
        "notes.txt",
        "pcmd-backup-2020-13-45.tar",  # not a date
    ]
    for name in theirs:
        (folder / name).write_text("keep me")
    (folder / "pcmd-backup-2019-01-01.tar").mkdir()  # a folder, not a backup file
    for day in range(1, 10):
        result = nightly_backup(settings, engine, now=NOW.replace(day=day))
    kept = sorted(p.name for p in folder.glob("pcmd-backup-2026-*"))
    assert kept == [f"pcmd-backup-2026-11-{d:02}.tar" for d in (7, 8, 9)]
    assert [p.name for p in result.pruned] == ["pcmd-backup-2026-11-06.tar"]
    for name in theirs:
        assert (folder / name).read_text() == "keep me"
    assert (folder / "pcmd-backup-2019-01-01.tar").is_dir()


def test_nightly_backup__twice_a_day__one_file_named_by_vietnam_date(
    settings: Settings, engine: Engine
) -> None:
    evening_utc = dt.datetime(2026, 11, 22, 18, 30, tzinfo=dt.UTC)  # 01:30 on the 23rd in Vietnam
    first = nightly_backup(settings, engine, now=evening_utc)
    second = nightly_backup(settings, engine, now=evening_utc + dt.timedelta(hours=2))
    assert first.path == second.path == settings.backup_dir / "pcmd-backup-2026-11-23.tar"
    assert [p.name for p in settings.backup_dir.iterdir()] == ["pcmd-backup-2026-11-23.tar"]
    assert stat.S_IMODE(settings.backup_dir.stat().st_mode) == 0o700


def test_prune_backups__keep_below_one__refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        prune_backups(tmp_path, 0)


def test_postgres_tool__not_on_path__says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match=r"pg_dump is not on PATH.*postgresql-client"):
        postgres.tool("pg_dump")


def test_backup__pg_dump_older_than_server__says_so(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(BackupError, match=r"pg_dump 9\.6\.24 cannot dump a PostgreSQL 1\d"):
        make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    assert not (tmp_path / "b.tar").exists()


def test_restore__postgres_schema_shared_with_other_tables__only_pcmd_tables_touched(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    made = add_submissions(engine, store, 2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE their_notes (note text)"))
        conn.execute(text("INSERT INTO their_notes VALUES ('from the old machine')"))
    with target_engine.begin() as conn:
        conn.execute(text("CREATE TABLE other_app (x int)"))
        conn.execute(text("INSERT INTO other_app VALUES (42)"))
    path = make_backup(settings, engine, tmp_path / "b.tar", now=NOW).path
    restored = restore_backup(target, target_engine, path)
    assert stored(target_engine) == made
    assert any("their_notes" in note for note in restored.notes)
    with target_engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM other_app")).scalars().all() == [42]
        assert conn.execute(text("SELECT to_regclass('their_notes')")).scalar() is None


def test_backup__password_in_url__never_in_command_line(settings: Settings, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with_password = make_engine(
        engine.url.set(password="hemmelig-123").render_as_string(hide_password=False)
    )
    try:
        dsn, env = postgres._conninfo(with_password)
    finally:
        with_password.dispose()
    assert "hemmelig" not in dsn
    assert env["PGPASSWORD"] == "hemmelig-123"


def test_backup__uic_secret__included_and_restored_0600(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    target: Settings,
    target_engine: Engine,
    tmp_path: Path,
) -> None:
    """The support log's UIC secret travels with the backup: without it the same person gets
    another key after a move (README, 'Khoá mã nhận diện')."""
    add_submissions(engine, store, 1)
    settings.uic_key_file.write_text("cd" * 32 + "\n")
    result = make_backup(settings, engine, tmp_path / "b.tar", now=NOW)
    with tarfile.open(result.path) as tar:
        assert "keys/uic_key" in tar.getnames()
    target.uic_key_file.parent.mkdir(parents=True, exist_ok=True)
    target.uic_key_file.write_text("ef" * 32 + "\n")  # `pcmd init` made another one there
    restore_backup(target, target_engine, result.path)
    assert target.uic_key_file.read_text() == "cd" * 32 + "\n"
    assert stat.S_IMODE(target.uic_key_file.stat().st_mode) == 0o600
