"""Whether the indicators are behind what is stored, and by how much: what the scheduler asks
before it runs the pipeline, and what every page with numbers shows ("updated at …, N records
waiting"). Reads only; the failure of a run is written here too, for administrators to see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from pcmd.db.models import utcnow
from pcmd.db.tables import STATE, SUB
from pcmd.pipeline.inputs import fingerprints
from pcmd.pipeline.state import STATE_SOURCE, STATE_VERSION, aware_utc


@dataclass(frozen=True)
class PipelineStatus:
    """How current the indicators are."""

    updated_at: dt.datetime | None  # the last successful run; None before the first
    waiting: int  # submissions changed since then (new, edited, reviewed, deleted)
    inputs_changed: bool  # org units, reference data, targets or the register changed
    new_month: bool  # a month began since the last run (new periods)
    error: str | None  # the last run's failure, until a run succeeds
    failed_at: dt.datetime | None

    @property
    def pending(self) -> bool:
        return self.waiting > 0 or self.inputs_changed or self.new_month


def _waiting(conn: Connection, state: dict[str, Any] | None) -> int:
    hw = state.get("hw") if state else None
    if not hw:
        return int(conn.execute(select(func.count()).select_from(SUB)).scalar_one())
    mark = aware_utc(hw)
    if conn.dialect.name != "postgresql":  # SQLite's mark is exact (state.changed_submissions)
        query = select(func.count()).select_from(SUB).where(SUB.c.updated_at > mark)
        return int(conn.execute(query).scalar_one())
    rows = conn.execute(select(SUB.c.id, SUB.c.updated_at).where(SUB.c.updated_at >= mark))
    seen: dict[str, str] = (state or {}).get("seen", {})
    # PostgreSQL's cursor lags; the rows it saw at the mark are done (state.changed_submissions)
    return sum(1 for sid, at in rows if seen.get(str(sid)) != aware_utc(at).isoformat())


def pipeline_status(
    conn: Connection, *, today: dt.date | None = None, with_inputs: bool = True
) -> PipelineStatus:
    """The indicators' lag behind the data. `with_inputs=False` skips the fingerprints of the
    other inputs (a page shows the waiting records; the scheduler needs the whole answer)."""
    row = conn.execute(
        select(
            STATE.c.cursor, STATE.c.last_success_at, STATE.c.last_error, STATE.c.updated_at
        ).where(STATE.c.source == STATE_SOURCE)
    ).first()
    cursor = row.cursor if row is not None and isinstance(row.cursor, dict) else None
    state = cursor if cursor and cursor.get("version") == STATE_VERSION else None
    waiting = _waiting(conn, state)
    inputs_changed = new_month = False
    if state is not None and with_inputs:
        prints = fingerprints(conn)
        inputs_changed = any(state.get(key) != value for key, value in prints.items())
        if today is not None:
            new_month = state.get("month") != today.year * 100 + today.month
    elif state is None and with_inputs:
        inputs_changed = waiting > 0
    error = row.last_error if row is not None else None
    return PipelineStatus(
        updated_at=aware_utc(row.last_success_at)
        if row is not None and row.last_success_at
        else None,
        waiting=waiting,
        inputs_changed=inputs_changed,
        new_month=new_month,
        error=error,
        failed_at=aware_utc(row.updated_at) if error and row is not None else None,
    )


def record_failure(conn: Connection, message: str) -> None:
    """Keep a failed run's error on the pipeline's state row (a successful run clears it)."""
    now = utcnow()
    done = conn.execute(
        update(STATE)
        .where(STATE.c.source == STATE_SOURCE)
        .values(last_error=message[:2000], updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            STATE.insert().values(
                source=STATE_SOURCE, cursor={}, last_error=message[:2000], updated_at=now
            )
        )
