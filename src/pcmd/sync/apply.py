"""Remote records applied through the one ingest: what pcmd already holds of a source, the
attachments to download first, links, review states, deletions and restores.

Edits and conflicts. Both servers give every edit a new instanceID (Kobo: a new `_uuid` and
meta/instanceID with meta/deprecatedID, same `_id` and rootUuid; Central: a new meta/instanceID
under the same `__id`, updatedAt bumped), so an edit always arrives as a new version of the same
root. The same instanceID with the same typed answers is a duplicate (a submission that also
came straight from Collect, or XML rebuilt differently): nothing is written but the link. The
same instanceID with other answers is therefore never an edit the server made: it is refused
as a conflict (counted as refused, named in `pcmd sync status`), the stored version is kept —
versions are immutable — and the record is tried again (by every Kobo light scan; on Central
when it changes or with --full) until a person resolves it, e.g. by editing it on the server,
which gives it a new instanceID.

Review states: when the remote's status of a record changes, pcmd's review_state follows it
(Kobo approved → approved, not approved → rejected, on hold → has_issues; Central's own
states); while the remote's status stays the same, a decision taken in pcmd stands.
Deletions upstream mark the submission deleted (deleted_at), never remove rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from pcmd.db.chunks import chunks
from pcmd.db.models import utcnow
from pcmd.db.tables import ATT, SR, SUB, VER
from pcmd.errors import IngestError
from pcmd.ingest import cases
from pcmd.ingest.bulk import ingest_new, insert_rows
from pcmd.ingest.files import FileStore, safe_filename
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest
from pcmd.sync.records import FileRef, RemoteRecord
from pcmd.sync.report import SyncReport
from pcmd.sync.sources import SourceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Known:
    row_id: int
    submission_id: int
    instance_id: str
    review: str | None
    complete: bool
    deleted: bool
    root: str


def known_records(conn: Connection, source_id: int, remote_ids: Sequence[str]) -> dict[str, Known]:
    out: dict[str, Known] = {}
    ids = list(dict.fromkeys(remote_ids))
    for chunk in chunks(ids):
        rows = conn.execute(
            select(
                SR.c.id,
                SR.c.remote_id,
                SR.c.submission_id,
                SR.c.instance_id,
                SR.c.review,
                SR.c.complete,
                SR.c.deleted_at,
                SUB.c.instance_id.label("root"),
            )
            .join(SUB, SUB.c.id == SR.c.submission_id)
            .where(SR.c.source_id == source_id, SR.c.remote_id.in_(chunk))
        )
        for row in rows:
            out[row.remote_id] = Known(
                row.id,
                row.submission_id,
                row.instance_id,
                row.review,
                bool(row.complete),
                row.deleted_at is not None,
                row.root,
            )
    return out


def _unchanged(record: RemoteRecord, known: Known | None) -> bool:
    return (
        known is not None
        and not known.deleted
        and not record.deleted
        and known.instance_id == record.instance_id
        and known.review == record.review
        and known.complete
    )


def _current_files(
    conn: Connection, records: Sequence[RemoteRecord], known: Mapping[str, Known]
) -> dict[str, set[str]]:
    """File names already stored on the current version of each record's submission (by
    remote id), when that version is the record's own (same instanceID): those are not
    downloaded again. A new version's files are all the new version's: an edit may replace a
    photo under the same name, so none of the old version's is taken for it."""
    sub_ids = {k.submission_id for k in known.values()}
    roots = {r.root_instance_id for r in records if r.remote_id not in known}
    by_sub: dict[int, tuple[str, set[str]]] = {}
    by_root: dict[str, tuple[str, set[str]]] = {}
    if sub_ids or roots:
        query = (
            select(SUB.c.id, SUB.c.instance_id, VER.c.instance_id.label("version"), ATT.c.filename)
            .join(VER, VER.c.id == SUB.c.current_version_id)
            .join(ATT, ATT.c.version_id == SUB.c.current_version_id)
            .where(
                SUB.c.id.in_(sub_ids) | SUB.c.instance_id.in_(roots)
                if roots
                else SUB.c.id.in_(sub_ids)
            )
        )
        for row in conn.execute(query):
            by_sub.setdefault(row.id, (row.version, set()))[1].add(row.filename)
            by_root.setdefault(row.instance_id, (row.version, set()))[1].add(row.filename)
    out: dict[str, set[str]] = {}
    for record in records:
        k = known.get(record.remote_id)
        version, names = (
            by_sub.get(k.submission_id) if k else by_root.get(record.root_instance_id)
        ) or ("", set())
        out[record.remote_id] = names if version == record.instance_id else set()
    return out


Stored = tuple[str, int]  # a file put in the store: its sha256 and size
Fetch = Callable[[Sequence[str], Callable[[bytes], Stored]], list[Stored | None]]


def prepare_files(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    records: Sequence[RemoteRecord],
    fetch: Fetch,
    *,
    force: bool = False,
) -> dict[str, tuple[IncomingFile, ...]]:
    """Download the attachments ingest will need, into the content-addressed store; `fetch`
    is a client's `fetch_all` (several at once, see pcmd.sync.http).

    Records seen unchanged and files pcmd already holds are skipped. A file the remote no
    longer has is left out: the record stays incomplete and is tried again next time.
    """
    with_files = [r for r in records if r.files and not r.deleted]
    if not with_files:
        return {}
    with engine.connect() as conn:
        known = known_records(conn, source.id, [r.remote_id for r in with_files])
        todo = [r for r in with_files if force or not _unchanged(r, known.get(r.remote_id))]
        have = _current_files(conn, todo, known)
    wanted: list[tuple[RemoteRecord, str, FileRef]] = []
    for record in todo:
        for ref in record.files:
            if ref.filename in have[record.remote_id]:
                continue
            try:
                name = safe_filename(ref.filename)
            except IngestError:
                log.warning(
                    "%s: %s: skipped attachment %r", source.name, record.remote_id, ref.filename
                )
                continue
            wanted.append((record, name, ref))

    def keep(content: bytes) -> Stored:
        return store.put_bytes(content)[0], len(content)

    stored = fetch([ref.url for _r, _n, ref in wanted], keep)
    out: dict[str, list[IncomingFile]] = {}
    for (record, name, ref), got in zip(wanted, stored, strict=True):
        if got is None:
            continue
        kind = ref.content_type
        if kind == "application/octet-stream":
            kind = mimetypes.guess_type(name)[0] or kind
        out.setdefault(record.remote_id, []).append(IncomingFile(name, kind, got[0], got[1]))
    return {remote_id: tuple(files) for remote_id, files in out.items()}


def mark_deleted(conn: Connection, row_id: int, submission_id: int, now: dt.datetime) -> None:
    conn.execute(update(SR).where(SR.c.id == row_id).values(deleted_at=now))
    conn.execute(
        update(SUB)
        .where(SUB.c.id == submission_id, SUB.c.deleted.is_(False))
        .values(deleted=True, deleted_at=now, updated_at=now)
    )
    cases.touch(conn, [submission_id])  # a case or step gone: phones replace their list


def restore(conn: Connection, row_id: int, submission_id: int, now: dt.datetime) -> None:
    """The remote lists a record again that it had deleted (Central can restore)."""
    conn.execute(update(SR).where(SR.c.id == row_id).values(deleted_at=None))
    conn.execute(
        update(SUB)
        .where(SUB.c.id == submission_id)
        .values(deleted=False, deleted_at=None, updated_at=now)
    )
    cases.touch(conn, [submission_id])


LINK_COLUMNS = (
    "source_id",
    "remote_id",
    "remote_seq",
    "submission_id",
    "instance_id",
    "review",
    "complete",
    "deleted_at",
)


def apply_records(
    conn: Connection,
    store: FileStore,
    source: SourceConfig,
    records: Iterable[RemoteRecord],
    files: Mapping[str, tuple[IncomingFile, ...]],
    report: SyncReport,
    *,
    forms: FormLookup,
    force: bool = False,
    seq: Callable[[RemoteRecord], int | None] = lambda _r: None,
) -> None:
    """Apply remote records in the caller's transaction. An ingest refusal (a 409 conflict, an
    unknown form version) is reported and skipped; IngestError is raised before any write, so
    the transaction stays usable."""
    records = list(records)
    known = known_records(conn, source.id, [r.remote_id for r in records])
    now = utcnow()

    def incoming(record: RemoteRecord, k: Known | None) -> Incoming:
        return Incoming(
            xml=record.xml,
            source=source.kind,
            files=files.get(record.remote_id, ()),
            submitter=record.submitter,
            device_id=record.device_id,
            source_ref=record.remote_id,
            # what pcmd already links this record to wins over what the record says: an old
            # Kobo server has no rootUuid, and its fallback names the current version
            root_instance_id=k.root if k is not None else record.root_instance_id,
            linked=k is not None,
            submitted_at=record.submitted_at,
            parsed=record.instance,
        )

    # Records this source never sent: brand-new submissions are written in bulk by
    # ingest_new (the same rows as ingest); it hands back the rest.
    fresh = [r for r in records if not r.deleted and r.remote_id not in known]
    bulk = dict(
        zip(
            [r.remote_id for r in fresh],
            ingest_new(conn, [incoming(r, None) for r in fresh], forms),
            strict=True,
        )
    )
    links: list[tuple[Any, ...]] = []
    for record in records:
        k = known.get(record.remote_id)
        if record.deleted:
            if k is not None and not k.deleted:
                mark_deleted(conn, k.row_id, k.submission_id, now)
                report.deleted += 1
            else:
                report.unchanged += 1
            continue
        restored = k is not None and k.deleted
        if restored:
            assert k is not None
            restore(conn, k.row_id, k.submission_id, now)
        if not force and _unchanged(record, k):
            report.unchanged += 1
            continue
        result = bulk.get(record.remote_id)
        if result is None:
            try:
                result = ingest(conn, store, incoming(record, k), forms)
            except IngestError as exc:
                report.refuse(record.remote_id, exc.message, status=exc.status)
                continue
        changed = restored or result.status != "duplicate"
        before = k.review if k is not None else None
        if record.review != before and (record.review_state or (record.review is None and k)):
            state = record.review_state or "received"
            done = conn.execute(
                update(SUB)
                .where(SUB.c.id == result.submission_id, SUB.c.review_state != state)
                .values(review_state=state, updated_at=now)
            )
            if done.rowcount:
                cases.touch(conn, [result.submission_id])
            changed = changed or done.rowcount > 0
        if k is None:
            links.append(
                (
                    source.id,
                    record.remote_id,
                    seq(record),
                    result.submission_id,
                    record.instance_id,
                    record.review,
                    not result.attachments_missing,
                    None,
                )
            )
        else:
            conn.execute(
                update(SR)
                .where(SR.c.id == k.row_id)
                .values(
                    submission_id=result.submission_id,
                    instance_id=record.instance_id,
                    review=record.review,
                    complete=not result.attachments_missing,
                    deleted_at=None,
                )
            )
        if result.status == "created":
            report.new += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
    insert_rows(conn, SR, LINK_COLUMNS, links)  # the record map: one executemany a page


def mark_range_deleted(
    conn: Connection, source_id: int, after: int, upto: int, present: set[int], now: dt.datetime
) -> int:
    """Kobo: mark deleted what pcmd holds with after < _id ≤ upto that the page did not list."""
    rows = conn.execute(
        select(SR.c.id, SR.c.remote_seq, SR.c.submission_id).where(
            SR.c.source_id == source_id,
            SR.c.remote_seq > after,
            SR.c.remote_seq <= upto,
            SR.c.deleted_at.is_(None),
        )
    ).all()
    gone = [row for row in rows if row.remote_seq not in present]
    for row in gone:
        mark_deleted(conn, row.id, row.submission_id, now)
    return len(gone)
