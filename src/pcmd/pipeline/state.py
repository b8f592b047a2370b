"""The pipeline's cursor in sync_state: which submissions changed since the last run, and
loading, saving and locking the cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.dialects import postgresql

from pcmd.db.chunks import chunks
from pcmd.db.models import utcnow
from pcmd.db.tables import CASE_STEPS, CASES, FORM, STATE, SUB
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.validate.establishments import READS_REGISTER

STATE_SOURCE = "pipeline"  # the sync_state row of the pipeline's cursor (a reserved name)
STATE_VERSION = 2  # 2: the cube stored by month (migration 0005) must be rebuilt
# PostgreSQL commits concurrent transactions out of `updated_at` order: rows stamped up to this
# many seconds before the newest one seen are read again next run (and skipped if unchanged).
# SQLite has one writer at a time, which stamps inside its write transaction: no lag needed.
LAG = {"sqlite": dt.timedelta(0), "postgresql": dt.timedelta(seconds=30)}


def aware_utc(moment: Any) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    assert isinstance(moment, dt.datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def changed_submissions(
    conn: Connection, state: Mapping[str, Any] | None, *, everything: bool, started: dt.datetime
) -> tuple[list[int], dict[str, Any]]:
    """Ids of submissions whose updated_at moved since the cursor, and the new cursor part.

    SQLite has one writer at a time and this run holds the write lock since before `started`:
    every row stamped before then is committed and visible, every later one will be stamped
    later, so the cursor is simply `started`. PostgreSQL commits concurrent transactions out of
    stamp order: rows stamped within LAG before the run are read again next time, and the ids
    seen among them (with their stamps) skip those already processed.
    """
    if conn.dialect.name != "postgresql":
        hw = None if everything or not state or not state.get("hw") else aware_utc(state["hw"])
        ids: list[int] = []
        if hw is not None:
            ids = [r[0] for r in cube.fetch(conn, select(SUB.c.id).where(SUB.c.updated_at > hw))]
        return ids, {"hw": started.isoformat(), "seen": {}}
    lag = LAG.get(conn.dialect.name, dt.timedelta(seconds=30))
    window = started - lag
    hw = None if everything or not state or not state.get("hw") else aware_utc(state["hw"])
    seen: dict[str, str] = dict(state.get("seen", {})) if state and hw is not None else {}
    since = window if hw is None else min(hw, window)
    rows = [
        (i, aware_utc(at))
        for i, at in cube.fetch(
            conn, select(SUB.c.id, SUB.c.updated_at).where(SUB.c.updated_at >= since)
        )
    ]
    changed = [] if hw is None else [i for i, at in rows if seen.get(str(i)) != at.isoformat()]
    new_hw = window if hw is None else max(hw, window)
    keep = {str(i): at.isoformat() for i, at in rows if at >= new_hw}
    return changed, {"hw": new_hw.isoformat(), "seen": keep}


def _load_state(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(STATE.c.cursor).where(STATE.c.source == STATE_SOURCE)).first()
    if row is None or not isinstance(row.cursor, dict):
        return None
    return row.cursor if row.cursor.get("version") == STATE_VERSION else None


def load_state(engine_or_conn: Engine | Connection) -> dict[str, Any] | None:
    """The pipeline's cursor (None before the first run)."""
    if isinstance(engine_or_conn, Connection):
        return _load_state(engine_or_conn)
    with engine_or_conn.connect() as conn:
        return _load_state(conn)


def save_state(conn: Connection, cursor: dict[str, Any]) -> None:
    now = utcnow()
    values = {"cursor": cursor, "last_success_at": now, "updated_at": now, "last_error": None}
    done = conn.execute(update(STATE).where(STATE.c.source == STATE_SOURCE).values(**values))
    if done.rowcount == 0:
        conn.execute(STATE.insert().values(source=STATE_SOURCE, **values))


def forget_programme(conn: Connection, programme_id: str) -> None:
    """Make the next run compute a programme as new: its stored values were deleted, and the
    programme may come back, unchanged, before the next run (its fingerprint would match)."""
    state = _load_state(conn)
    if state is None or programme_id not in state.get("programmes", {}):
        return
    kept = {k: v for k, v in state["programmes"].items() if k != programme_id}
    conn.execute(
        update(STATE)
        .where(STATE.c.source == STATE_SOURCE)
        .values(cursor={**state, "programmes": kept}, updated_at=utcnow())
    )


def lock_state(conn: Connection) -> None:
    """Serialise runs: on PostgreSQL, lock the cursor row (created if missing) for the
    transaction; SQLite's writer lock already does it."""
    if conn.dialect.name != "postgresql":
        return
    stmt = (
        postgresql.insert(STATE)
        .values(source=STATE_SOURCE, cursor={}, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source"])
    )
    conn.execute(stmt)
    conn.execute(select(STATE.c.source).where(STATE.c.source == STATE_SOURCE).with_for_update())


def register_readers(conn: Connection) -> list[int]:
    """The submissions whose validation reads the establishment register (inspections): what a
    change of the register must re-validate."""
    query = (
        select(SUB.c.id)
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .where(FORM.c.form_id.in_(READS_REGISTER), SUB.c.deleted.is_(False))
    )
    return [row[0] for row in cube.fetch(conn, query)]


def case_step_readers(conn: Connection, changed: Sequence[int]) -> list[int]:
    """The steps of the cases registered by `changed` submissions: a step's check against its
    case's received date (a step dated before it) must run again when the case is edited."""
    found: set[int] = set()
    for chunk in chunks(changed):
        query = (
            select(CASE_STEPS.c.submission_id)
            .join(
                CASES,
                or_(
                    CASE_STEPS.c.entity_ref == CASES.c.entity_id,
                    CASE_STEPS.c.entity_ref == CASES.c.alias,
                ),
            )
            .where(CASES.c.submission_id.in_(chunk))
        )
        found.update(row[0] for row in conn.execute(query))
    return sorted(found - set(changed))
