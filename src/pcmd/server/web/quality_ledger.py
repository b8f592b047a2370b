"""The few columns of every submission that the quality and provinces pages and the dashboard's
missing-report notice count (ledger_counts.py) — commune, activity date, when received, review
state, deleted, form — kept in the server process as arrays and brought up to date from the
rows changed since the last look, so that a figure computed again after records arrive costs a
read of what changed and a vectorised count, not a pass over a million rows (0.25 s and 0.9 s
of CPU per worker at a million, paid on most requests while records arrive).

What changed is found as the pipeline finds it: every change to a submission moves its
`updated_at` (ingest, edits, review, deletion and restoring by a pull, accepted issues). Rows
stamped since LAG before the previous look are read again, since a writer commits a little
after it stamps, and concurrent writers out of stamp order (a row read again is simply
overwritten: reading is idempotent). Everything is read again after REBUILD_SECONDS whatever
the stamps say, which bounds how long anything that did not move a stamp (a transaction held
open longer than LAG) can go unseen. Only the first read is paid by a request (2–2.5 s of CPU at
a million); the later ones run on a thread of their own while requests go on with the columns
they have, and what changed during such a read is read again after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine

from pcmd.db.models import utcnow

log = logging.getLogger(__name__)

LAG = dt.timedelta(seconds=30)  # as the pipeline's cursor on PostgreSQL
REBUILD_SECONDS = 600.0
PART = 50_000  # rows read at a time (a full read does not hold a million tuples)
NO_DAY = np.iinfo(np.int32).min  # a record without an activity date
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()

Ints = npt.NDArray[np.int64]


@dataclass
class Columns:
    ids: Ints  # ascending
    commune: npt.NDArray[np.int32]  # index into Ledger.communes ("" for none)
    activity: npt.NDArray[np.int32]  # days since 1970-01-01, NO_DAY for none
    submitted: Ints  # microseconds since 1970-01-01 UTC
    state: npt.NDArray[np.int8]  # index into Ledger.states
    deleted: npt.NDArray[np.bool_]
    version: Ints  # the current version's id, -1 for none
    form: npt.NDArray[np.int32]  # forms.id

    @classmethod
    def empty(cls) -> Columns:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.bool_),
            np.empty(0, np.int64),
            np.empty(0, np.int32),
        )

    def take(self, order: Any) -> Columns:
        return Columns(*(getattr(self, f)[order] for f in FIELDS))


FIELDS = ("ids", "commune", "activity", "submitted", "state", "deleted", "version", "form")


@dataclass(frozen=True)
class View:
    """What the counts read: the columns and the names behind their indexes (see Ledger.view)."""

    cols: Columns
    communes: list[str]  # a commune column's value → its code
    commune_index: dict[str, int]
    state_index: dict[str, int]  # a review state → a state column's value
    aware: bool  # PostgreSQL's timestamps are aware, SQLite's naive (UTC)

    def moment(self, micros: int) -> dt.datetime:
        """A submitted column's value as the database's driver would have returned it."""
        moment = EPOCH + dt.timedelta(microseconds=micros)
        return moment if self.aware else moment.replace(tzinfo=None)

    def day(self, date: dt.date) -> int:
        """A date as an activity column's value."""
        return date.toordinal() - EPOCH_DAY


class Ledger:
    """One process's columns for one database (see ledger_of)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cols: Columns | None = None
        self._looked: dt.datetime | None = None  # when the columns were last brought up to date
        self._built = 0.0
        self._aware = False  # PostgreSQL returns aware timestamps, SQLite naive ones (UTC)
        self._rebuilding = False
        self._names_lock = threading.Lock()  # a rebuilding thread names new values too
        self.communes: list[str] = []
        self._commune: dict[str, int] = {}
        self.states: list[str] = []
        self._state: dict[str, int] = {}
        self.full_reads = 0  # tests read these
        self.rows_read = 0

    def _index(self, names: list[str], index: dict[str, int], value: str) -> int:
        with self._names_lock:
            found = index.get(value)
            if found is None:
                found = index[value] = len(names)
                names.append(value)
            return found

    def _columns(self, rows: Sequence[Any], text_dates: bool) -> Columns:
        if not rows:
            return Columns.empty()
        ids, communes, activity, submitted, states, deleted, versions, forms = zip(
            *rows, strict=True
        )
        index = self._commune
        named = self._state
        for code in set(communes).difference(index):
            self._index(self.communes, index, code)
        for state in set(states).difference(named):
            self._index(self.states, named, state)
        if text_dates:  # SQLite's text, parsed by numpy (a datetime object each costs more)
            days = np.array([a or "NaT" for a in activity], "datetime64[D]").astype(np.int64)
            days[days == np.iinfo(np.int64).min] = NO_DAY
            micros = np.array(submitted, "datetime64[us]").astype(np.int64)
        else:
            days = np.array([NO_DAY if a is None else a for a in activity], np.int64)
            micros = np.array(submitted, np.int64)
        return Columns(
            np.array(ids, np.int64),
            np.array([index[c] for c in communes], np.int32),
            days.astype(np.int32),
            micros,
            np.array([named[s] for s in states], np.int8),
            np.array(deleted, np.bool_),
            np.array(versions, np.int64),
            np.array(forms, np.int32),
        )

    def _read(self, conn: Connection, after: int = 0, since: dt.datetime | None = None) -> Columns:
        """The rows with an id above `after`, PART at a time in id order, or those stamped at or
        after `since` if given, through the driver's own cursor: a million rows through
        SQLAlchemy's results and as datetime objects cost seconds of CPU."""
        postgres = conn.dialect.name == "postgresql"
        self._aware = postgres
        mark = "%s" if postgres else "?"
        if postgres:
            columns = (
                "activity_date - DATE '1970-01-01', "
                "(extract(epoch FROM submitted_at) * 1000000)::bigint"
            )
            stamp: Any = since
        else:  # SQLite keeps 'YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) as text
            columns = "activity_date, submitted_at"
            stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if since else None
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        parts = [Columns.empty()]
        last = after
        # constants only: the values are the driver's parameters
        sql = (
            f"SELECT id, coalesce(commune_code, ''), {columns}, review_state, deleted, "  # noqa: S608
            "coalesce(current_version_id, -1), form_pk "
            "FROM submissions WHERE "
        )
        try:
            if since is not None:  # what changed: by the stamp's index, at once (no paging by
                # id, which would make the planner walk the ids instead)
                cursor.execute(sql + f"updated_at >= {mark}", (stamp,))
                rows = cursor.fetchall()
                self.rows_read += len(rows)
                return self._columns(rows, not postgres)
            while True:
                cursor.execute(sql + f"id > {mark} ORDER BY id LIMIT {PART}", (last,))
                rows = cursor.fetchall()
                parts.append(self._columns(rows, not postgres))
                self.rows_read += len(rows)
                if len(rows) < PART:
                    break
                last = rows[-1][0]
        finally:
            cursor.close()
        return Columns(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))

    def _merge(self, changed: Columns) -> None:
        cols = self._cols
        assert cols is not None
        if not len(changed.ids):
            return
        changed = changed.take(np.argsort(changed.ids, kind="stable"))
        at = np.searchsorted(cols.ids, changed.ids)
        inside = at < len(cols.ids)
        known = np.zeros(len(changed.ids), np.bool_)
        known[inside] = cols.ids[at[inside]] == changed.ids[inside]
        for f in FIELDS[1:]:
            getattr(cols, f)[at[known]] = getattr(changed, f)[known]
        new = changed.take(~known)
        if len(new.ids):
            merged = Columns(*(np.concatenate([getattr(cols, f), getattr(new, f)]) for f in FIELDS))
            if len(cols.ids) and new.ids[0] < cols.ids[-1]:  # committed out of id order
                merged = merged.take(np.argsort(merged.ids, kind="stable"))
            self._cols = merged

    def refresh(self, conn: Connection) -> Columns:
        """The columns as committed now (the caller holds the lock). A row stamped LAG before
        the previous look was committed by then and read then: what is read again is what was
        stamped since, and in the LAG before it."""
        now = utcnow()
        if self._cols is None:
            self.full_reads += 1
            self._cols = self._read(conn)
            self._built = time.monotonic()
        else:
            if time.monotonic() - self._built > REBUILD_SECONDS and not self._rebuilding:
                self._rebuilding = True
                threading.Thread(
                    target=self._rebuild, args=(conn.engine,), name="ledger-rebuild", daemon=True
                ).start()
            assert self._looked is not None
            # two look-ups by index (an OR of them makes SQLite read the whole table)
            if len(self._cols.ids):
                self._merge(self._read(conn, since=self._looked - LAG))
            top = int(self._cols.ids[-1]) if len(self._cols.ids) else 0
            self._merge(self._read(conn, after=top))
        self._looked = now
        return self._cols

    def warm(self, engine: Engine) -> None:
        """The first read, done before anyone asks (as the server starts), so that no user's
        first dashboard, quality or provinces page pays for it (2–2.5 s of CPU at a million)."""
        with self._lock:
            if self._cols is None:
                with engine.connect() as conn:
                    self.refresh(conn)

    def _rebuild(self, engine: Engine) -> None:
        """Every column read again on this thread, then put in place; the next refresh reads
        again what was stamped since this read began (and LAG before it)."""
        try:
            started = utcnow()
            with engine.connect() as conn:
                cols = self._read(conn)
            with self._lock:
                self.full_reads += 1
                self._cols = cols
                self._looked = min(self._looked or started, started)
                self._built = time.monotonic()
        except Exception:  # the columns in use stay; the next refresh tries again
            log.exception("reading the ledger of submissions again failed")
        finally:
            self._rebuilding = False

    @contextmanager
    def view(self, conn: Connection) -> Iterator[View]:
        """The columns as committed now, with the names their indexes stand for, under the
        ledger's lock: a refresh merges changed rows into the arrays in place, so whatever is
        counted from them is counted before the lock is let go."""
        with self._lock:
            yield View(self.refresh(conn), self.communes, self._commune, self._state, self._aware)


_LEDGERS: weakref.WeakKeyDictionary[Engine, Ledger] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def ledger_of(bind: Engine | Connection) -> Ledger:
    """This process's ledger of the engine's database (one per engine, made on first use)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _GUARD:
        found = _LEDGERS.get(engine)
        if found is None:
            found = _LEDGERS[engine] = Ledger()
        return found
