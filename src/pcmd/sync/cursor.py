"""A source's row in sync_state: the cursor a sync resumes from, and its last success or error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from pcmd.db.engine import with_retry
from pcmd.db.models import utcnow
from pcmd.db.tables import STATE
from pcmd.sync.report import SyncReport


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
