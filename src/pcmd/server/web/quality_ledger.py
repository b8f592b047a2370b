"""The few columns of every submission that the quality and provinces pages and the dashboard's
missing-report notice count — commune, activity date, when received, review state, deleted,
form — kept in the server process as arrays and
brought up to date from the rows changed since the last look, so that a figure computed again
after records arrive costs a read of what changed and a vectorised count, not a pass over a
million rows (0.25 s and 0.9 s of CPU per worker at a million, paid on most requests while
records arrive).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, select

from pcmd.db.models import utcnow
from pcmd.db.tables import ISSUE
from pcmd.reports.quality import TIMELY_DAYS, CommuneQuality

log = logging.getLogger(__name__)

LAG = dt.timedelta(seconds=30)  # as the pipeline's cursor on PostgreSQL
REBUILD_SECONDS = 600.0
PART = 50_000  # rows read at a time (a full read does not hold a million tuples)
NO_DAY = np.iinfo(np.int32).min  # a record without an activity date
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
DAY_US = 86_400_000_000
VIETNAM_US = 7 * 3_600_000_000  # UTC+7 all year: a server timestamp's date in Vietnam

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


@dataclass
class ProvinceCount:
    """One commune's live records, those awaiting review, those with an open error, and the
    newest received."""

    commune: str
    records: int
    pending: int
    with_errors: int
    last_received: dt.datetime | None


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

    def _moment(self, micros: int) -> dt.datetime:
        moment = EPOCH + dt.timedelta(microseconds=micros)
        return moment if self._aware else moment.replace(tzinfo=None)

    def province_counts(self, conn: Connection, pending: Iterable[str]) -> list[ProvinceCount]:
        """Per commune with a live record: records, those in a `pending` state, those with an
        open error on their current version, the newest received."""
        # the open errors, a few thousand rows; their records are found in the columns (on
        # PostgreSQL the join in SQL is a hash join over every record: 0.5 s at a million)
        issues = conn.execute(
            select(ISSUE.c.submission_id, ISSUE.c.version_id)
            .where(ISSUE.c.status == "open", ISSUE.c.severity == "error")
            .distinct()
        ).all()
        with self._lock:
            cols = self.refresh(conn)
            live = ~cols.deleted
            group = cols.commune[live]
            size = len(self.communes)
            records = np.bincount(group, minlength=size)
            codes = [self._state[s] for s in pending if s in self._state]
            waiting = np.bincount(
                group, weights=np.isin(cols.state[live], codes), minlength=size
            ).astype(np.int64)
            last = np.full(size, np.iinfo(np.int64).min, np.int64)
            np.maximum.at(last, group, cols.submitted[live])
            errors = np.zeros(size, np.int64)
            if issues and len(cols.ids):
                sid = np.array([i[0] for i in issues], np.int64)
                vid = np.array([-1 if i[1] is None else i[1] for i in issues], np.int64)
                at = np.minimum(np.searchsorted(cols.ids, sid), len(cols.ids) - 1)
                found = (cols.ids[at] == sid) & (cols.version[at] == vid) & ~cols.deleted[at]
                counted = np.unique(at[found])  # a record once, however many errors it has
                errors = np.bincount(cols.commune[counted], minlength=size)
            return [
                ProvinceCount(
                    self.communes[i],
                    int(records[i]),
                    int(waiting[i]),
                    int(errors[i]),
                    self._moment(int(last[i])),
                )
                for i in np.flatnonzero(records)
            ]

    def reporting_grid(
        self, conn: Connection, communes: Sequence[tuple[str, str]], year: int
    ) -> list[CommuneQuality]:
        """reports.quality.reporting_grid over the live records of these communes dated in
        `year` (one row per commune, in the order given), counted from the columns."""
        rows = [CommuneQuality(code, name) for code, name in communes]
        with self._lock:
            cols = self.refresh(conn)
            where = np.full(len(self.communes), -1, np.int64)  # ledger's commune → row
            for i, (code, _name) in enumerate(communes):
                if code and code in self._commune:
                    where[self._commune[code]] = i
            start = dt.date(year, 1, 1).toordinal() - EPOCH_DAY
            end = dt.date(year, 12, 31).toordinal() - EPOCH_DAY
            row = where[cols.commune]
            keep = (
                ~cols.deleted
                & (row >= 0)
                & (cols.activity >= start)
                & (cols.activity <= end)
                & (cols.activity != NO_DAY)
            )
            row = row[keep]
            activity = cols.activity[keep].astype(np.int64)
            month = activity.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
            received = (cols.submitted[keep] + VIETNAM_US) // DAY_US
            timely = (received - activity) <= TIMELY_DAYS
        n = len(rows)
        by_month = np.bincount(row * 12 + month, minlength=n * 12).reshape(n, 12)
        on_time = np.bincount(row, weights=timely, minlength=n).astype(np.int64)
        total = np.bincount(row, minlength=n)
        for i, quality in enumerate(rows):
            quality.by_month = {
                f"{year}{m + 1:02d}": int(by_month[i, m]) for m in np.flatnonzero(by_month[i])
            }
            quality.timely = int(on_time[i])
            quality.late = int(total[i]) - quality.timely
        return rows

    def open_issues(
        self, conn: Connection, communes: Sequence[str], year: int
    ) -> list[tuple[str, str, int]]:
        """The open issues on the current versions of the live records of these communes dated
        in `year`, counted by rule and severity, most first (the quality page's table). Read
        from the issues, a few thousand rows, their records found in the columns: on PostgreSQL
        the join in SQL scanned every record (0.13 s at a million, again after every change)."""
        issues = conn.execute(
            select(ISSUE.c.rule, ISSUE.c.severity, ISSUE.c.submission_id, ISSUE.c.version_id)
            .where(ISSUE.c.status == "open")
            .order_by(ISSUE.c.id)
        ).all()
        if not issues:
            return []
        sid = np.array([i[2] for i in issues], np.int64)
        vid = np.array([-1 if i[3] is None else i[3] for i in issues], np.int64)
        start = dt.date(year, 1, 1).toordinal() - EPOCH_DAY
        end = dt.date(year, 12, 31).toordinal() - EPOCH_DAY
        with self._lock:
            cols = self.refresh(conn)
            if not len(cols.ids):
                return []
            visible = np.zeros(len(self.communes), np.bool_)
            for code in communes:
                if code and code in self._commune:
                    visible[self._commune[code]] = True
            at = np.minimum(np.searchsorted(cols.ids, sid), len(cols.ids) - 1)
            found = (
                (cols.ids[at] == sid)
                & (cols.version[at] == vid)
                & ~cols.deleted[at]
                & visible[cols.commune[at]]
                & (cols.activity[at] >= start)
                & (cols.activity[at] <= end)
            )
        counted: dict[tuple[str, str], int] = {}
        for i in np.flatnonzero(found).tolist():
            key = (issues[i][0], issues[i][1])
            counted[key] = counted.get(key, 0) + 1
        return sorted(
            ((rule, severity, n) for (rule, severity), n in counted.items()),
            key=lambda row: (-row[2], row[0], row[1]),
        )

    def reported_communes(self, conn: Connection, forms: Sequence[int], month: dt.date) -> set[str]:
        """jobs.reminders.reported_communes from the columns: the communes with a live record
        of one of `forms`, not rejected, dated in `month` (its first day). The SQL looks at
        every report of the form (0.15 s at a million on SQLite), again after every change."""
        end = (month + dt.timedelta(days=32)).replace(day=1)
        start_day, end_day = month.toordinal() - EPOCH_DAY, end.toordinal() - EPOCH_DAY
        with self._lock:
            cols = self.refresh(conn)
            keep = (
                np.isin(cols.form, np.array(forms, np.int32))
                & ~cols.deleted
                & (cols.state != self._state.get("rejected", -1))
                & (cols.activity >= start_day)
                & (cols.activity < end_day)
            )
            found = np.unique(cols.commune[keep]).tolist()
        return {self.communes[i] for i in found if self.communes[i]}


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
