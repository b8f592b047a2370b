"""A version's attachment rows: the files stored with it, the ones still missing, and the
files an edit carries over from the version it replaces."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, insert, select, update

from pcmd.db.models import utcnow
from pcmd.db.tables import ATT
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import IncomingFile


def store_files(
    conn: Connection,
    store: FileStore,
    submission_id: int,
    version_id: int,
    files: Iterable[IncomingFile],
    expected: list[str],
) -> int:
    """Add the files the XML names (others are ignored: Collect sends the whole folder)."""
    wanted = {f.filename: f for f in files if f.filename in expected}
    if not wanted:
        return 0
    have = {
        row.filename: row
        for row in conn.execute(
            select(ATT.c.id, ATT.c.filename, ATT.c.sha256).where(ATT.c.version_id == version_id)
        )
    }
    added = 0
    now = utcnow()
    for name, item in wanted.items():
        if item.temp_path is not None:
            store.put_temp(item.temp_path, item.sha256)
        row = have.get(name)
        if row is None:
            conn.execute(
                insert(ATT).values(
                    submission_id=submission_id,
                    version_id=version_id,
                    filename=name,
                    content_type=item.content_type,
                    size=item.size,
                    sha256=item.sha256,
                    received_at=now,
                )
            )
            added += 1
        elif row.sha256 != item.sha256:  # a resend replaces the file, as on Central
            conn.execute(
                update(ATT)
                .where(ATT.c.id == row.id)
                .values(sha256=item.sha256, size=item.size, content_type=item.content_type)
            )
            added += 1
    return added


def missing_files(conn: Connection, version_id: int, expected: list[str]) -> list[str]:
    if not expected:
        return []
    names = conn.execute(select(ATT.c.filename).where(ATT.c.version_id == version_id))
    have: set[str] = set(names.scalars())
    return [name for name in expected if name not in have]


def carry_over(
    conn: Connection,
    submission_id: int,
    previous_id: int,
    version_id: int,
    expected: list[str],
    files: Iterable[IncomingFile],
) -> None:
    """An edit keeps the earlier version's files it still names, unless it sends them anew."""
    sent = {f.filename for f in files}
    old_files = conn.execute(select(ATT).where(ATT.c.version_id == previous_id)).all()
    for old in old_files:
        if old.filename in expected and old.filename not in sent:
            conn.execute(
                insert(ATT).values(
                    submission_id=submission_id,
                    version_id=version_id,
                    filename=old.filename,
                    content_type=old.content_type,
                    size=old.size,
                    sha256=old.sha256,
                    received_at=utcnow(),
                )
            )
