"""Every version of an edited Central submission, in pcmd's history.

OData gives a record's current version only, without its `deprecatedID`. For each edited
record of a page (its current instanceID is not its root) whose chain of versions pcmd does not
hold back to the root, the versions are read from Central's API — the list, then each missing
version's XML, which carries its `deprecatedID` — and kept as history (ingest/history.py):
earlier versions added without becoming current, every version linked to the one it replaced.
A failure here is reported and tried again at the next sync; it never stops the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from pcmd.db.engine import with_retry
from pcmd.db.tables import SUB, VER
from pcmd.errors import PcmdError
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.history import add_history
from pcmd.sync import central
from pcmd.sync.records import RemoteRecord
from pcmd.sync.report import SyncReport
from pcmd.sync.sources import SourceConfig

log = logging.getLogger(__name__)


def _incomplete(conn: Connection, root: str) -> bool:
    """Whether pcmd lacks a version between this submission's current one and its root (by
    deprecatedID links); False when pcmd does not hold the submission."""
    sub = conn.execute(
        select(SUB.c.id, SUB.c.current_version_id).where(SUB.c.instance_id == root)
    ).first()
    if sub is None:
        return False
    rows = conn.execute(
        select(VER.c.id, VER.c.instance_id, VER.c.deprecated_id).where(
            VER.c.submission_id == sub.id
        )
    ).all()
    by_iid = {r.instance_id: r for r in rows}
    current = next((r for r in rows if r.id == sub.current_version_id), None)
    seen: set[str] = set()
    while current is not None and current.instance_id not in seen:
        if current.instance_id == root:
            return False
        seen.add(current.instance_id)
        current = by_iid.get(current.deprecated_id) if current.deprecated_id else None
    return True


def _keep(
    engine: Engine,
    forms: FormLookup,
    source: SourceConfig,
    record: RemoteRecord,
    documents: list[bytes],
    uic_key_file: Path | None,
) -> int:
    def work(conn: Connection) -> int:
        sid: int = conn.execute(
            select(SUB.c.id).where(SUB.c.instance_id == record.root_instance_id)
        ).scalar_one()
        return sum(
            add_history(
                conn,
                forms,
                sid,
                xml,
                source=source.kind,
                source_ref=record.remote_id,
                uic_key_file=uic_key_file,
            )
            for xml in documents
        )

    return with_retry(engine, work)


def fetch_history(
    engine: Engine,
    client: central.CentralClient,
    source: SourceConfig,
    records: Iterable[RemoteRecord],
    forms: FormLookup,
    report: SyncReport,
    uic_key_file: Path | None = None,
) -> int:
    """Complete the version history of the edited records among `records`; how many versions
    were added or linked. `uic_key_file`: the UIC secret (ingest/uic.py)."""
    edited = [r for r in records if not r.deleted and r.instance_id != r.root_instance_id]
    if not edited:
        return 0
    with engine.connect() as conn:
        todo = [r for r in edited if _incomplete(conn, r.root_instance_id)]
    done = 0
    for record in todo:
        root = record.root_instance_id
        try:
            with engine.connect() as conn:
                held = {
                    r.instance_id: r.deprecated_id
                    for r in conn.execute(
                        select(VER.c.instance_id, VER.c.deprecated_id)
                        .join(SUB, SUB.c.id == VER.c.submission_id)
                        .where(SUB.c.instance_id == root)
                    )
                }
            wanted = [
                iid
                for iid in client.versions(root)
                if iid not in held or (held[iid] is None and iid != root)
            ]
            documents = [(iid, client.version_xml(root, iid)) for iid in wanted]
            done += _keep(
                engine, forms, source, record, [x for _i, x in documents if x], uic_key_file
            )
        except PcmdError as exc:
            log.warning("%s: versions of %s: %s", source.name, root, exc.message)
            report.problems.append(f"{record.remote_id}: {exc.message}")
    return done
