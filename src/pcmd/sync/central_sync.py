"""An ODK Central source synced page by page, each page with its cursor (see pcmd.sync.runner).

OData pages filtered on submissionDate/updatedAt/deletedAt ≥ the cursor's `since`, followed
through @odata.nextLink (the next link is saved with each page, so a killed pass resumes where
it stopped); at the end `since` moves to the server time when the pass began, less a minute.
With --full, a submission pcmd holds that Central no longer lists at all (purged) is marked
deleted.
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
from pcmd.sync import central
from pcmd.sync.apply import apply_records, mark_deleted, prepare_files
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
                    mark_deleted(conn, row.id, row.submission_id, now)
                    gone += 1
        save_cursor(conn, source.name, final)
        return gone

    report.deleted += with_retry(engine, finish)
