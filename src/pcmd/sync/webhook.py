"""A KoboToolbox REST Service record (webhook) applied like a pulled one.

The record goes through the very apply the pull uses (same identity, same idempotence), so a
hook and a pull of one record make one submission in either order. The scheduled pull still
runs: hooks never report edits, deletions or review changes, and can be lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.errors import PcmdError
from pcmd.ingest.files import FileStore
from pcmd.sync.kobo_sync import KoboSync, kobo_client
from pcmd.sync.report import SyncReport
from pcmd.sync.sources import SourceConfig, get_source


def webhook_source(engine: Engine, name: str) -> SourceConfig | None:
    """The enabled KoboToolbox source of that name, or None."""
    try:
        with transaction(engine) as session:
            source = get_source(session, name)
    except PcmdError:
        return None
    return source if source.kind == "kobo" and source.enabled else None


def apply_webhook(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    record: Mapping[str, Any],
    with_files: bool,
) -> SyncReport:
    """Apply one webhook record (its attachments downloaded only `with_files`)."""
    client = kobo_client(source)
    try:
        sync = KoboSync(engine, store, source, client, SyncReport(source.name), None)
        return sync.webhook(record, with_files=with_files)
    finally:
        client.close()
