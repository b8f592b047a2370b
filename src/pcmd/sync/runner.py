"""The sync loop: pages from a source, through the one ingest, with the cursor in the same
transaction.

Crash safety. Every page is applied in one write transaction that also saves the source's
cursor (sync_state), so a sync killed at any moment leaves the database at a page boundary,
and the next run starts from the first page not committed. Ingest is idempotent and every
decision below is a function of the remote record and the database, so a rerun ends where an
uninterrupted run would. Attachments are stored content-addressed before the transaction that
names them (a crash leaves at most an unreferenced file).

Each kind of source has its module: pcmd.sync.kobo_sync (KoboToolbox), pcmd.sync.central_sync
(ODK Central); both apply records through pcmd.sync.apply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from pcmd.errors import PcmdError
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from pcmd.sync import central, kobo
from pcmd.sync.central_sync import central_client, sync_central
from pcmd.sync.cursor import record_outcome
from pcmd.sync.http import HttpPolicy, mask
from pcmd.sync.kobo_sync import KoboSync, kobo_client
from pcmd.sync.report import ProgressFn, SyncReport
from pcmd.sync.sources import SourceConfig

log = logging.getLogger(__name__)


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
            sync_central(
                engine,
                store,
                source,
                client,
                report,
                progress,
                full=full,
                scan_minutes=settings.sync_scan_minutes,
            )
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
