"""The sync loop: pages from a source, through the one ingest, with the cursor in the same
transaction.

Crash safety. Every page is applied in one write transaction that also saves the source's
cursor (sync_state), so a sync killed at any moment leaves the database at a page boundary,
and the next run starts from the first page not committed. Ingest is idempotent and every
decision below is a function of the remote record and the database, so a rerun ends where an
uninterrupted run would. Attachments are stored content-addressed before the transaction that
names them (a crash leaves at most an unreferenced file).

KoboToolbox (sync_kobo):
- new records: keyset pages on `_id` from the cursor's `last_id`, minus an overlap of
  OVERLAP_IDS (Kobo can make a record visible after a higher `_id` has been; the overlap
  re-reads those, and a record seen unchanged costs no ingest);
- every `sync_scan_minutes` (and on the first run and with --full): a scan over all `_id`s.
  The light scan asks only for `_id, _uuid, meta/rootUuid, meta/instanceID,
  _validation_status` and fetches in full just the records that are new, edited (another
  instanceID), re-reviewed or missing attachments;
- deletions: a keyset page covers the `_id` range (previous page's last, this page's last]; an
  `_id` pcmd holds in that range that the page lacks was deleted upstream (Kobo deletes hard,
  with no marker). Past the last page, the ids pcmd holds are checked with one `$in` query.
ODK Central (sync_central): OData pages filtered on submissionDate/updatedAt/deletedAt ≥ the
cursor's `since`, followed through @odata.nextLink (the next link is saved with each page, so a
killed pass resumes where it stopped); at the end `since` moves to the server time when the
pass began, less a minute. With --full, a submission pcmd holds that Central no longer lists
at all (purged) is marked deleted.

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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from pcmd.db.engine import with_retry
from pcmd.db.models import utcnow
from pcmd.db.tables import ATT, SR, STATE, SUB
from pcmd.errors import IngestError, PcmdError, SyncError
from pcmd.ingest.files import FileStore, safe_filename
from pcmd.ingest.ingest import FormLookup, Incoming, IncomingFile, ingest, ingest_new
from pcmd.settings import Settings
from pcmd.sync import central, kobo
from pcmd.sync.http import HttpPolicy, mask
from pcmd.sync.records import FormSpec, RemoteRecord, load_form_spec
from pcmd.sync.sources import SourceConfig

log = logging.getLogger(__name__)

OVERLAP_IDS = 200
CENTRAL_OVERLAP = dt.timedelta(minutes=1)
MAX_PROBLEMS = 20

ProgressFn = Callable[[int, int | None], None]  # (records just handled, total if known)
T = TypeVar("T")


# --- report ----------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync did. `failed` records were refused by ingest and are retried later."""

    source: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.deleted)

    @property
    def records(self) -> int:
        return self.new + self.updated + self.deleted + self.unchanged + self.failed

    def merge(self, other: SyncReport) -> None:
        self.new += other.new
        self.updated += other.updated
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        self.failed += other.failed
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(other.problems[: max(room, 0)])

    def refuse(self, remote_id: str, message: str) -> None:
        self.failed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{remote_id}: {message}")

    def summary(self) -> str:
        text = (
            f"{self.source}: mới (new) {self.new}, cập nhật (updated) {self.updated}, "
            f"xoá (deleted) {self.deleted}, không đổi (unchanged) {self.unchanged}"
        )
        if self.failed:
            text += f", bị từ chối (refused) {self.failed}"
        text += f", {self.seconds:.1f} s"
        if self.error:
            text += f" — lỗi (error): {self.error}"
        return text


# --- what pcmd already holds -----------------------------------------------------------------


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
    for at in range(0, len(ids), 500):
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
            .where(SR.c.source_id == source_id, SR.c.remote_id.in_(ids[at : at + 500]))
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
    remote id): those are not downloaded again (ingest carries them over to an edit)."""
    sub_ids = {k.submission_id for k in known.values()}
    roots = {r.root_instance_id for r in records if r.remote_id not in known}
    by_sub: dict[int, set[str]] = {}
    by_root: dict[str, set[str]] = {}
    if sub_ids or roots:
        query = (
            select(SUB.c.id, SUB.c.instance_id, ATT.c.filename)
            .join(ATT, ATT.c.version_id == SUB.c.current_version_id)
            .where(
                SUB.c.id.in_(sub_ids) | SUB.c.instance_id.in_(roots)
                if roots
                else SUB.c.id.in_(sub_ids)
            )
        )
        for row in conn.execute(query):
            by_sub.setdefault(row.id, set()).add(row.filename)
            by_root.setdefault(row.instance_id, set()).add(row.filename)
    out: dict[str, set[str]] = {}
    for record in records:
        k = known.get(record.remote_id)
        out[record.remote_id] = (
            by_sub.get(k.submission_id, set()) if k else by_root.get(record.root_instance_id, set())
        )
    return out


def prepare_files(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    records: Sequence[RemoteRecord],
    download: Callable[[str], bytes | None],
    *,
    force: bool = False,
) -> dict[str, tuple[IncomingFile, ...]]:
    """Download the attachments ingest will need, into the content-addressed store.

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
    out: dict[str, tuple[IncomingFile, ...]] = {}
    for record in todo:
        files: list[IncomingFile] = []
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
            content = download(ref.url)
            if content is None:
                continue
            sha, _path = store.put_bytes(content)
            kind = ref.content_type
            if kind == "application/octet-stream":
                kind = mimetypes.guess_type(name)[0] or kind
            files.append(IncomingFile(name, kind, sha, len(content)))
        if files:
            out[record.remote_id] = tuple(files)
    return out


# --- applying records ------------------------------------------------------------------------


def _mark_deleted(conn: Connection, row_id: int, submission_id: int, now: dt.datetime) -> None:
    conn.execute(update(SR).where(SR.c.id == row_id).values(deleted_at=now))
    conn.execute(
        update(SUB)
        .where(SUB.c.id == submission_id, SUB.c.deleted.is_(False))
        .values(deleted=True, deleted_at=now, updated_at=now)
    )


def _restore(conn: Connection, known: Known, now: dt.datetime) -> None:
    """The remote lists a record again that it had deleted (Central can restore)."""
    conn.execute(update(SR).where(SR.c.id == known.row_id).values(deleted_at=None))
    conn.execute(
        update(SUB)
        .where(SUB.c.id == known.submission_id)
        .values(deleted=False, deleted_at=None, updated_at=now)
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
    links: list[dict[str, Any]] = []
    for record in records:
        k = known.get(record.remote_id)
        if record.deleted:
            if k is not None and not k.deleted:
                _mark_deleted(conn, k.row_id, k.submission_id, now)
                report.deleted += 1
            else:
                report.unchanged += 1
            continue
        restored = k is not None and k.deleted
        if restored:
            assert k is not None
            _restore(conn, k, now)
        if not force and _unchanged(record, k):
            report.unchanged += 1
            continue
        result = bulk.get(record.remote_id)
        if result is None:
            try:
                result = ingest(conn, store, incoming(record, k), forms)
            except IngestError as exc:
                report.refuse(record.remote_id, exc.message)
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
            changed = changed or done.rowcount > 0
        values = {
            "submission_id": result.submission_id,
            "instance_id": record.instance_id,
            "review": record.review,
            "complete": not result.attachments_missing,
            "deleted_at": None,
        }
        if k is None:
            links.append(
                {
                    "source_id": source.id,
                    "remote_id": record.remote_id,
                    "remote_seq": seq(record),
                    **values,
                }
            )
        else:
            conn.execute(update(SR).where(SR.c.id == k.row_id).values(**values))
        if result.status == "created":
            report.new += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
    if links:
        conn.execute(insert(SR), links)


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
        _mark_deleted(conn, row.id, row.submission_id, now)
    return len(gone)


# --- cursors and health ----------------------------------------------------------------------


def load_cursor(conn: Connection, name: str) -> dict[str, Any]:
    cursor = conn.execute(select(STATE.c.cursor).where(STATE.c.source == name)).scalar()
    return dict(cursor) if isinstance(cursor, Mapping) else {}


def _upsert_state(conn: Connection, name: str, values: dict[str, Any]) -> None:
    values = {**values, "updated_at": utcnow()}
    done = conn.execute(update(STATE).where(STATE.c.source == name).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(STATE).values(source=name, **{"cursor": {}, **values}))


def save_cursor(conn: Connection, name: str, cursor: Mapping[str, Any]) -> None:
    _upsert_state(conn, name, {"cursor": dict(cursor)})


def record_outcome(engine: Engine, name: str, report: SyncReport) -> None:
    now = utcnow()
    values: dict[str, Any] = {}
    if report.error is None:
        values["last_success_at"] = now
    if report.error is not None or report.failed:
        values["last_error_at"] = now
        values["last_error"] = report.error or (
            f"{report.failed} bản ghi bị từ chối (record(s) refused), e.g. "
            + "; ".join(report.problems[:3])
        )
    with_retry(engine, lambda conn: _upsert_state(conn, name, values))


# --- KoboToolbox -----------------------------------------------------------------------------


def kobo_client(
    source: SourceConfig, environ: Mapping[str, str] | None = None, policy: HttpPolicy | None = None
) -> kobo.KoboClient:
    token = source.secret(source.token_env, "khoá API KoboToolbox (KoboToolbox API key)", environ)
    assert source.asset_uid is not None
    return kobo.KoboClient(
        source.url, source.asset_uid, token, token_env=source.token_env or "", policy=policy
    )


def _kobo_seq(record: RemoteRecord) -> int | None:
    return int(record.remote_id) if record.remote_id.isdigit() else None


def _kobo_needs_fetch(light: Mapping[str, Any], known: Known | None) -> bool:
    marker, _state = kobo.review(light)
    return not (
        known is not None
        and not known.deleted
        and known.complete
        and known.instance_id == kobo.instance_id(light)
        and known.review == marker
    )


class KoboSync:
    def __init__(
        self,
        engine: Engine,
        store: FileStore,
        source: SourceConfig,
        client: kobo.KoboClient,
        report: SyncReport,
        progress: ProgressFn | None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.source = source
        self.client = client
        self.report = report
        self.progress = progress or (lambda _n, _t: None)
        self.forms = FormLookup(ttl=60)
        with engine.connect() as conn:
            self.form: FormSpec = load_form_spec(conn, source.form_id)
            self.cursor = load_cursor(conn, source.name)

    def run(self, *, full: bool, scan_minutes: int) -> None:
        first = "last_id" not in self.cursor
        if full or first:
            self.keyset_pass(0, light=False, force=full)
            self.cursor["last_scan_at"] = utcnow().isoformat()
            self._write_cursor()
            return
        last_id = int(self.cursor.get("last_id", 0))
        self.keyset_pass(max(0, last_id - OVERLAP_IDS), light=False, force=False)
        last_scan = self.cursor.get("last_scan_at")
        due = last_scan is None or utcnow() - dt.datetime.fromisoformat(last_scan) >= dt.timedelta(
            minutes=scan_minutes
        )
        if due:
            self.keyset_pass(0, light=True, force=False)
            self.cursor["last_scan_at"] = utcnow().isoformat()
            self._write_cursor()

    def _write_cursor(self) -> None:
        cursor = dict(self.cursor)
        with_retry(self.engine, lambda conn: save_cursor(conn, self.source.name, cursor))

    def keyset_pass(self, after: int, *, light: bool, force: bool) -> None:
        previous = after
        for page in self.client.pages(after, kobo.LIGHT_FIELDS if light else None):
            ids = [kobo.record_id(r) for r in page.records]
            if light:
                with self.engine.connect() as conn:
                    known = known_records(conn, self.source.id, [str(i) for i in ids])
                wanted = [
                    kobo.record_id(r)
                    for r in page.records
                    if _kobo_needs_fetch(r, known.get(str(kobo.record_id(r))))
                ]
                full_records = self.client.by_ids(wanted) if wanted else []
                # the ones not fetched were seen as they are in pcmd
                self.report.unchanged += len(ids) - len(wanted)
            else:
                full_records = page.records
            self.apply_page(full_records, previous, max(ids), set(ids), force=force)
            previous = max(ids)
            self.progress(len(ids), page.count)
        self.check_tail(previous)

    def remote(self, records: Iterable[Mapping[str, Any]]) -> list[RemoteRecord]:
        return [kobo.to_remote(r, self.form) for r in records]

    def apply_page(
        self,
        records: Sequence[Mapping[str, Any]],
        after: int,
        upto: int,
        present: set[int],
        *,
        force: bool,
    ) -> None:
        remote = self.remote(records)
        files = prepare_files(
            self.engine, self.store, self.source, remote, self.client.download, force=force
        )
        cursor = {**self.cursor, "last_id": max(int(self.cursor.get("last_id", 0)), upto)}

        def work(conn: Connection) -> SyncReport:
            page_report = SyncReport(self.source.name)
            apply_records(
                conn,
                self.store,
                self.source,
                remote,
                files,
                page_report,
                forms=self.forms,
                force=force,
                seq=_kobo_seq,
            )
            page_report.deleted += mark_range_deleted(
                conn, self.source.id, after, upto, present, utcnow()
            )
            save_cursor(conn, self.source.name, cursor)
            return page_report

        self.report.merge(with_retry(self.engine, work))
        self.cursor = cursor

    def check_tail(self, after: int) -> None:
        """Records pcmd holds past the last page: ask Kobo for them by id; the missing ones
        were deleted (the newest records of a project, deleted, leave no later page)."""
        with self.engine.connect() as conn:
            tail: Sequence[Any] = (
                conn.execute(
                    select(SR.c.remote_seq).where(
                        SR.c.source_id == self.source.id,
                        SR.c.remote_seq > after,
                        SR.c.deleted_at.is_(None),
                    )
                )
                .scalars()
                .all()
            )
        ids = [int(i) for i in tail if i is not None]
        if not ids:
            return
        present = {kobo.record_id(r) for r in self.client.by_ids(ids, fields=["_id"])}

        def work(conn: Connection) -> int:
            return mark_range_deleted(conn, self.source.id, after, max(ids), present, utcnow())

        self.report.deleted += with_retry(self.engine, work)

    def webhook(self, record: Mapping[str, Any], *, with_files: bool) -> SyncReport:
        """One REST Service payload, through the same apply as a pulled page (no cursor: the
        pull still reads this `_id` in its turn and finds it unchanged)."""
        remote = self.remote([record])
        files = (
            prepare_files(self.engine, self.store, self.source, remote, self.client.download)
            if with_files
            else {}
        )

        def work(conn: Connection) -> SyncReport:
            one = SyncReport(self.source.name)
            apply_records(
                conn, self.store, self.source, remote, files, one, forms=self.forms, seq=_kobo_seq
            )
            return one

        result = with_retry(self.engine, work)
        self.report.merge(result)
        return result


# --- ODK Central -----------------------------------------------------------------------------


def central_client(
    source: SourceConfig, environ: Mapping[str, str] | None = None, policy: HttpPolicy | None = None
) -> central.CentralClient:
    user = source.secret(source.user_env, "e-mail ODK Central (ODK Central e-mail)", environ)
    password = source.secret(
        source.password_env, "mật khẩu ODK Central (ODK Central password)", environ
    )
    assert source.project_id is not None
    return central.CentralClient(
        source.url,
        source.project_id,
        source.form_id,
        user,
        password,
        user_env=source.user_env or "",
        password_env=source.password_env or "",
        policy=policy,
    )


def sync_central(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    client: central.CentralClient,
    report: SyncReport,
    progress: ProgressFn | None,
    *,
    full: bool,
) -> None:
    progress = progress or (lambda _n, _t: None)
    forms = FormLookup(ttl=60)
    with engine.connect() as conn:
        form = load_form_spec(conn, source.form_id)
        cursor = load_cursor(conn, source.name)
    since = None if full else cursor.get("since")
    link = None if full else cursor.get("next")
    started = None if full else cursor.get("started")
    seen: set[str] | None = set() if full else None
    for page in client.pages(link, since):
        if started is None:
            started = central.odata_time(page.server_time or utcnow())
        remote = [central.to_remote(row, form, client.attachments_url) for row in page.rows]
        files = prepare_files(engine, store, source, remote, client.download, force=full)
        page_cursor = {"since": since, "next": page.next_link, "started": started}

        def work(
            conn: Connection,
            remote: list[RemoteRecord] = remote,
            files: dict[str, tuple[IncomingFile, ...]] = files,
            c: dict[str, Any] = page_cursor,
        ) -> SyncReport:
            page_report = SyncReport(source.name)
            apply_records(conn, store, source, remote, files, page_report, forms=forms, force=full)
            save_cursor(conn, source.name, c)
            return page_report

        report.merge(with_retry(engine, work))
        if seen is not None:
            seen.update(r.remote_id for r in remote)
        progress(len(remote), page.count)
    assert started is not None
    begun = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    final = {"since": central.odata_time(begun - CENTRAL_OVERLAP), "next": None, "started": None}

    def finish(conn: Connection) -> int:
        gone = 0
        if seen is not None:
            now = utcnow()
            rows = conn.execute(
                select(SR.c.id, SR.c.remote_id, SR.c.submission_id).where(
                    SR.c.source_id == source.id, SR.c.deleted_at.is_(None)
                )
            ).all()
            for row in rows:
                if row.remote_id not in seen:
                    _mark_deleted(conn, row.id, row.submission_id, now)
                    gone += 1
        save_cursor(conn, source.name, final)
        return gone

    report.deleted += with_retry(engine, finish)


# --- entry points ----------------------------------------------------------------------------


def sync_source(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    settings: Settings,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
) -> SyncReport:
    """Sync one source; never raises for a problem with the source (it is in the report and
    in sync_state, for `pcmd sync status`)."""
    report = SyncReport(source.name)
    started = time.monotonic()
    secrets: list[str] = []
    client: kobo.KoboClient | central.CentralClient | None = None
    try:
        if source.kind == "kobo":
            client = kobo_client(source, environ, policy)
            secrets = client.secrets
            KoboSync(engine, store, source, client, report, progress).run(
                full=full, scan_minutes=settings.sync_scan_minutes
            )
        else:
            client = central_client(source, environ, policy)
            secrets = client.secrets
            sync_central(engine, store, source, client, report, progress, full=full)
    except PcmdError as exc:
        report.error = mask(exc.message, secrets)
    except SQLAlchemyError as exc:
        detail = exc.orig if hasattr(exc, "orig") else exc
        report.error = f"lỗi cơ sở dữ liệu (database error): {exc.__class__.__name__}: {detail}"
    finally:
        if client is not None:
            client.close()
    report.seconds = time.monotonic() - started
    try:
        record_outcome(engine, source.name, report)
    except SQLAlchemyError:
        log.exception("%s: could not record the sync outcome", source.name)
    if report.error:
        log.warning("sync %s failed: %s", source.name, report.error)
    else:
        log.info("sync %s", report.summary())
    return report


def check_error(report: SyncReport) -> None:
    if report.error:
        raise SyncError(report.error)
