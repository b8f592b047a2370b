"""A source's row in sync_state: the cursor a sync resumes from, its last success, and its
error while that is current (a clean run clears it), read back as the last outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
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
    """A run that failed keeps the success before it; a clean run (no error, nothing
    refused) clears the error, which is no longer current."""
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
    else:
        values["last_error_at"] = None
        values["last_error"] = None
    with_retry(engine, lambda conn: _upsert_state(conn, name, values))


@dataclass(frozen=True)
class Outcome:
    """How a source's last sync ended: `ok` (it finished, perhaps with records refused), when,
    and the error while it is current."""

    ok: bool
    at: dt.datetime | None
    error: str | None


def last_outcome(
    last_success_at: dt.datetime | None, last_error_at: dt.datetime | None, last_error: str | None
) -> Outcome:
    if last_error_at is None or not last_error:
        return Outcome(True, last_success_at, None)
    if last_success_at is None or _utc(last_error_at) > _utc(last_success_at):
        return Outcome(False, last_error_at, last_error)
    if _utc(last_error_at) == _utc(last_success_at):  # the run finished, refusing records
        return Outcome(True, last_success_at, last_error)
    return Outcome(True, last_success_at, None)  # an error a later success left behind


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
