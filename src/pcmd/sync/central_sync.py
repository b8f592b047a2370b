"""An ODK Central source synced page by page, each page with its cursor (see pcmd.sync.runner).

OData pages filtered on submissionDate/updatedAt/deletedAt ≥ the cursor's `since`, followed
through @odata.nextLink (the next link is saved with each page, so a killed pass resumes where
it stopped); at the end `since` moves to the server time when the pass began, less a minute.

A restore in Central moves none of those timestamps, and a purge leaves no row: so every
`sync_scan_minutes` (as for Kobo) a light scan lists the `__id`s Central holds (`$select=__id`,
paged) and compares them with what pcmd holds of the source: a record listed again that pcmd
has as deleted was restored, one pcmd holds that is not listed was deleted or purged. With
--full the whole feed is read and the same comparison is made from it.

An edited record's earlier versions are read from Central's API and kept as its history
(central_history.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select

from pcmd.db.engine import with_retry
from pcmd.db.models import utcnow
from pcmd.db.tables import SR
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import IncomingFile
from pcmd.ingest.uic import key_file_for
from pcmd.sync import central
from pcmd.sync.apply import apply_records, mark_deleted, prepare_files, restore
from pcmd.sync.central_history import fetch_history
from pcmd.sync.cursor import load_cursor, save_cursor
from pcmd.sync.http import HttpPolicy
from pcmd.sync.records import RemoteRecord, load_form_spec
from pcmd.sync.report import ProgressFn, SyncReport
from pcmd.sync.sources import SourceConfig

CENTRAL_OVERLAP = dt.timedelta(minutes=1)


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


def _scan_due(cursor: Mapping[str, Any], minutes: int) -> bool:
    last = cursor.get("last_scan_at")
    if not isinstance(last, str):
        return True
    try:
        moment = dt.datetime.fromisoformat(last)
    except ValueError:
        return True
    return utcnow() - moment >= dt.timedelta(minutes=minutes)


def compare_ids(
    conn: Connection, source_id: int, listed: set[str], now: dt.datetime
) -> tuple[int, int]:
    """(deleted, restored): what pcmd holds of a source against every id the remote lists."""
    rows = conn.execute(
        select(SR.c.id, SR.c.remote_id, SR.c.submission_id, SR.c.deleted_at).where(
            SR.c.source_id == source_id
        )
    ).all()
    deleted = restored = 0
    for row in rows:
        if row.remote_id in listed and row.deleted_at is not None:
            restore(conn, row.id, row.submission_id, now)
            restored += 1
        elif row.remote_id not in listed and row.deleted_at is None:
            mark_deleted(conn, row.id, row.submission_id, now)
            deleted += 1
    return deleted, restored


def scan_central(
    engine: Engine, source: SourceConfig, client: central.CentralClient, report: SyncReport
) -> None:
    """The light scan: every `__id` Central lists, compared with what pcmd holds."""
    listed: set[str] = set()
    for page in client.pages(None, None, ids_only=True):
        listed.update(str(r["__id"]) for r in page.rows if isinstance(r.get("__id"), str))
    deleted, restored = with_retry(
        engine, lambda conn: compare_ids(conn, source.id, listed, utcnow())
    )
    report.deleted += deleted
    report.updated += restored


def sync_central(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    client: central.CentralClient,
    report: SyncReport,
    progress: ProgressFn | None,
    *,
    full: bool,
    scan_minutes: int = 15,
) -> None:
    progress = progress or (lambda _n, _t: None)
    forms = FormLookup(ttl=60)
    with engine.connect() as conn:
        form = load_form_spec(conn, source.form_id)
        cursor = load_cursor(conn, source.name)
    first = "since" not in cursor
    since = None if full else cursor.get("since")
    link = None if full else cursor.get("next")
    started = None if full else cursor.get("started")
    seen: set[str] | None = set() if full else None
    for page in client.pages(link, since):
        if started is None:
            started = central.odata_time(page.server_time or utcnow())
        remote = [central.to_remote(row, form, client.attachments_url) for row in page.rows]
        files = prepare_files(engine, store, source, remote, client.fetch_all, force=full)
        page_cursor = {**cursor, "since": since, "next": page.next_link, "started": started}

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
        fetch_history(
            engine, client, source, remote, forms, report, uic_key_file=key_file_for(store.root)
        )
        if seen is not None:
            seen.update(r.remote_id for r in remote)
        progress(len(remote), page.count)
    assert started is not None
    begun = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    final = {
        **cursor,
        "since": central.odata_time(begun - CENTRAL_OVERLAP),
        "next": None,
        "started": None,
    }
    if not (full or first) and _scan_due(cursor, scan_minutes):
        scan_central(engine, source, client, report)
    if full or first or _scan_due(cursor, scan_minutes):
        final["last_scan_at"] = utcnow().isoformat()

    def finish(conn: Connection) -> int:
        gone = 0
        if seen is not None:
            gone = compare_ids(conn, source.id, seen, utcnow())[0]
        save_cursor(conn, source.name, final)
        return gone

    report.deleted += with_retry(engine, finish)
