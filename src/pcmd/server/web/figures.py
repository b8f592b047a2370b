"""Figures kept between requests: what the dashboard, the quality page and the indicator API
compute from a million submissions is computed once per data version and kept in the server
process, instead of once per request.

The data version is read from the database on every request (a few index look-ups), so every
server process sees a change as soon as it is committed — a pipeline run, a new, edited,
reviewed or deleted submission, an accepted issue, new targets, reference data, register or
programme file, a new day. A kept figure is also dropped after MAX_AGE_SECONDS: a writer that
stamped its change before another's but committed after it leaves the newest stamp unchanged,
and the age bounds how long that can go unseen.

Concurrent requests for the same missing figure wait for one computation (no stampede of
eight users each computing the same page).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from pcmd.db.tables import EST, ISSUE, ORG, PFILES, REF, STATE, SUB, TGT
from pcmd.masterdata.periods import vietnam_today
from pcmd.pipeline.state import STATE_SOURCE

MAX_AGE_SECONDS = 60.0
KEPT = 256  # figures per process (a page's figures are a few hundred kB at most)

T = TypeVar("T")


def data_version(conn: Connection, *, submissions: bool = True) -> tuple[Any, ...]:
    """What every kept figure depends on, read cheaply (index look-ups and counts, about a
    millisecond): the pipeline's last run (or failure), the newest change to a submission and
    the newest submission and issue, the newest org unit, register entry, reference value and
    target (and on SQLite how many there are), the programme files, and today's date in Vietnam.
    A value of the register, reference data or targets changed in place is seen by the
    pipeline's run that follows it (the scheduler runs it when these inputs change), and at
    the latest after MAX_AGE_SECONDS.

    `submissions=False` for figures read only from what the pipeline stores (indicator values,
    the cube): they change with its runs, not with each record received, so they stay kept
    while records keep arriving."""

    def top(column: Any) -> Any:
        return select(func.max(column)).scalar_subquery()  # each one an index look-up

    def count(table: Any) -> Any:
        return select(func.count()).select_from(table).scalar_subquery()

    pipeline = conn.execute(
        select(STATE.c.updated_at, STATE.c.last_success_at, STATE.c.last_error).where(
            STATE.c.source == STATE_SOURCE
        )
    ).first()
    records = (top(SUB.c.updated_at), top(SUB.c.id), top(ISSUE.c.id)) if submissions else ()
    # How many rows: a row deleted (pcmd deletes none of these; by hand) or inserted below the
    # newest id (concurrent writers). Cheap on SQLite; on PostgreSQL each count scans its table
    # (~8 ms of the database's CPU on every page at these sizes), so there these are left to
    # MAX_AGE_SECONDS, as a value changed in place is.
    counted = conn.dialect.name != "postgresql"
    counts = (
        (
            count(EST),
            count(ORG.select().where(ORG.c.valid_to.is_(None)).subquery()),
            count(REF),
            count(TGT),
        )
        if counted
        else ()
    )
    newest = conn.execute(
        select(
            *records,
            *counts,
            top(EST.c.id),
            top(ORG.c.id),
            top(ORG.c.valid_to),
            top(REF.c.id),
            top(TGT.c.id),
        )
    ).one()
    programmes = tuple(
        conn.execute(select(PFILES.c.programme, PFILES.c.sha256).order_by(PFILES.c.programme)).all()
    )
    return (tuple(pipeline or ()), tuple(newest), programmes, vietnam_today())


class Figures:
    """A process's kept figures: key → (data version, when computed, value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, tuple[tuple[Any, ...], float, Any]] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.computed = 0  # how many times a figure was computed (tests read it)

    def _fresh(self, key: Hashable, version: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._lock:
            kept = self._kept.get(key)
            if (
                kept is not None
                and kept[0] == version
                and time.monotonic() - kept[1] < MAX_AGE_SECONDS
            ):
                self._kept.move_to_end(key)
                return True, kept[2]
            return False, None

    def get(self, key: Hashable, version: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """The value kept for `key` at `version`, else `compute()` (once, however many ask)."""
        found, value = self._fresh(key, version)
        if found:
            return value  # type: ignore[no-any-return]
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found, value = self._fresh(key, version)  # another request computed it meanwhile
            if found:
                return value  # type: ignore[no-any-return]
            computed = compute()
            with self._lock:
                self.computed += 1
                self._kept[key] = (version, time.monotonic(), computed)
                self._kept.move_to_end(key)
                while len(self._kept) > KEPT:
                    self._kept.popitem(last=False)
                self._computing.pop(key, None)
            return computed

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
