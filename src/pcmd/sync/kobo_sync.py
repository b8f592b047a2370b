"""A KoboToolbox source synced page by page, each page with its cursor (see pcmd.sync.runner):
- new records: keyset pages on `_id` from the cursor's `last_id`, minus an overlap of
  OVERLAP_IDS (Kobo can make a record visible after a higher `_id` has been; the overlap
  re-reads those, and a record seen unchanged costs no ingest);
- every `sync_scan_minutes` (and on the first run and with --full): a scan over all `_id`s.
  The light scan asks only for `_id, _uuid, meta/rootUuid, meta/instanceID,
  _validation_status` and fetches in full just the records that are new, edited (another
  instanceID), re-reviewed or missing attachments;
- deletions: a keyset page covers the `_id` range (previous page's last, this page's last]; an
  `_id` pcmd holds in that range that the page lacks was deleted upstream (Kobo deletes hard,
  with no marker). Past the last page, the ids pcmd holds are checked with one `$in` query;
- edits sooner, where the server offers it: a KoboToolbox with `_date_modified` on its records
  (kpi PR #7260; detected on the records themselves) is asked at every sync for the records
  modified since the newest modification pcmd has seen (less MODIFIED_OVERLAP), so an edit or a
  review arrives at the next sync; the light scan still runs for deletions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from pcmd.db.engine import with_retry
from pcmd.db.models import utcnow
from pcmd.db.tables import SR
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.sync import kobo
from pcmd.sync.apply import Known, apply_records, known_records, mark_range_deleted, prepare_files
from pcmd.sync.cursor import load_cursor, save_cursor
from pcmd.sync.gcpause import collect_young, gc_paused
from pcmd.sync.http import HttpPolicy
from pcmd.sync.rebuild import FormSpec
from pcmd.sync.records import RemoteRecord, load_form_spec
from pcmd.sync.report import ProgressFn, SyncReport
from pcmd.sync.sources import SourceConfig

OVERLAP_IDS = 200
# Kobo stamps `_date_modified` when it saves; a save that commits late can carry an earlier
# stamp than one already read: ask again for this much before the newest stamp seen.
MODIFIED_OVERLAP = dt.timedelta(minutes=5)
MODIFIED = "_date_modified"


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
        elif self.cursor.get("modified_since"):
            self.modified_pass(str(self.cursor["modified_since"]))

    def modified_pass(self, since: str) -> None:
        """The records modified since `since` (a Kobo timestamp), applied as they are now.
        The filter leaves most `_id`s out of each page, so nothing is concluded about deletions
        and the new-records cursor does not move."""
        try:
            moment = dt.datetime.fromisoformat(since) - MODIFIED_OVERLAP
        except ValueError:
            return  # not a timestamp this pass understands: the light scan covers edits
        where = {MODIFIED: {"$gte": moment.strftime("%Y-%m-%dT%H:%M:%S")}}
        with gc_paused():
            for page in self.client.pages(0, None, where):
                collect_young()
                ids = {kobo.record_id(r) for r in page.records}
                self.apply_page(page.records, 0, 0, ids, force=False, deletions=False)
                self.progress(len(ids), page.count)

    def _write_cursor(self) -> None:
        cursor = dict(self.cursor)
        with_retry(self.engine, lambda conn: save_cursor(conn, self.source.name, cursor))

    def keyset_pass(self, after: int, *, light: bool, force: bool) -> None:
        with gc_paused():  # collected a page at a time (see pcmd.sync.gcpause)
            previous = self._keyset_pages(after, light=light, force=force)
        self.check_tail(previous)

    def _keyset_pages(self, after: int, *, light: bool, force: bool) -> int:
        """Apply the keyset pages from `after`; returns the last `_id` seen."""
        previous = after
        for page in self.client.pages(after, kobo.LIGHT_FIELDS if light else None):
            collect_young()
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
        return previous

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
        deletions: bool = True,
    ) -> None:
        remote = self.remote(records)
        files = prepare_files(
            self.engine, self.store, self.source, remote, self.client.fetch_all, force=force
        )
        cursor = {**self.cursor, "last_id": max(int(self.cursor.get("last_id", 0)), upto)}
        stamps = [r[MODIFIED] for r in records if isinstance(r.get(MODIFIED), str)]
        if stamps:  # the server offers modification times: later syncs ask for changes
            cursor["modified_since"] = max([*stamps, str(cursor.get("modified_since", ""))])

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
            if deletions:
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
            prepare_files(self.engine, self.store, self.source, remote, self.client.fetch_all)
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
