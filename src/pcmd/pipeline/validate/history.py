"""The history OUT_001 compares a record with: the counted records of its form and commune,
read from the database (whole histories, or each record's recent window) and lined up by date."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    column,
    func,
    literal,
    or_,
    select,
    true,
    values,
)
from sqlalchemy.sql.elements import ColumnElement

from pcmd.db.chunks import chunks
from pcmd.db.tables import FORM, SUB, VER
from pcmd.forms import contract as c
from pcmd.pipeline.validate.batch import CHUNK, Record
from pcmd.pipeline.validate.counted import counted_condition
from pcmd.pipeline.validate.outliers import OUTLIER_MIN_EXCESS, OUTLIER_WINDOW, size_of

# Up to this many submissions, an incremental run reads each one's recent history (one small
# query per record); above it, reading whole (form, commune) histories once is cheaper.
WINDOW_QUERY_MAX = 5000


@dataclass(frozen=True)
class _Point:
    """A counted record outside the batch, as history for OUT_001."""

    form_pk: int
    commune: str
    day: dt.date
    id: int
    size: float


def history_points(conn: Connection, batch: Sequence[Record]) -> list[_Point]:
    """The counted records outside the batch that OUT_001 may compare the batch with, with
    only their size counts read from the JSON: decoding whole documents in Python would cost
    more than all the rest of an incremental run."""
    in_batch = {r.id for r in batch}
    columns = (
        SUB.c.id,
        SUB.c.form_pk,
        FORM.c.form_id,
        SUB.c.commune_code,
        SUB.c.activity_date,
        _size_parts(conn),
    )
    query = (
        select(*columns)
        .join(VER, VER.c.id == SUB.c.current_version_id)
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .where(counted_condition())
    )
    rows: list[Row[Any]] = []
    if len(batch) > WINDOW_QUERY_MAX:
        # A large batch: whole (form, commune) histories, read once.
        pairs = {(r.form_pk, r.commune) for r in batch if r.commune is not None}
        query = query.where(SUB.c.form_pk.in_(sorted({form_pk for form_pk, _ in pairs})))
        for communes in chunks(sorted({commune for _, commune in pairs}), CHUNK):
            rows.extend(
                r
                for r in conn.execute(query.where(SUB.c.commune_code.in_(communes)))
                if (r.form_pk, r.commune_code) in pairs
            )
    else:
        # Ids first, from the submissions index alone; then the sizes of those rows only (a
        # join to the versions inside the windowed query reads every row before the LIMIT).
        for ids in chunks(sorted(_recent_ids(conn, batch) - in_batch), CHUNK):
            rows.extend(conn.execute(query.where(SUB.c.id.in_(ids))))
    points = []
    for r in rows:
        size = _size(r.form_id, r.parts)
        if r.id not in in_batch and size is not None and r.activity_date is not None:
            points.append(_Point(r.form_pk, r.commune_code, r.activity_date, r.id, size))
    return points


def _window_params(batch: Sequence[Record]) -> list[dict[str, Any]]:
    """One window per batch record whose size could be an outlier: the latest counted records
    of its form and commune before it, and after the batch record before it in that pair, at
    most OUTLIER_WINDOW of them plus the batch records skipped in between. With those, every
    record's window is known (what lies before the previous batch record is that one's window),
    each row is read once, and a batch record (dropped afterwards: its stored issues may be
    stale) never takes the place of a record behind it."""
    by_pair: dict[tuple[int, str], list[tuple[dt.date, int, bool]]] = {}
    for rec in batch:
        if rec.commune is not None and rec.day is not None:
            size = size_of(rec.form_id, rec.data)
            # Below the minimum excess OUT_001 cannot fire, whatever the history: skip it.
            wanted = size is not None and size >= OUTLIER_MIN_EXCESS
            by_pair.setdefault((rec.form_pk, rec.commune), []).append((rec.day, rec.id, wanted))
    windows: list[dict[str, Any]] = []
    for (form_pk, commune), keys in by_pair.items():
        previous = (dt.date.min, 0)
        skipped = 0  # batch records since `previous`: they may sit in the range, taking places
        for day, sid, wanted in sorted(keys):
            if not wanted:
                skipped += 1
                continue
            windows.append(
                {
                    "form_pk": form_pk,
                    "commune": commune,
                    "day": day,
                    "sid": sid,
                    "after_day": previous[0],
                    "after_sid": previous[1],
                    "window": OUTLIER_WINDOW + skipped,
                }
            )
            previous, skipped = (day, sid), 0
    return windows


def _in_window(p: Any) -> list[ColumnElement[bool]]:
    """The conditions of one window, `p` giving its bounds (bind parameters or columns)."""
    return [
        counted_condition(),
        SUB.c.form_pk == p.form_pk,
        SUB.c.commune_code == p.commune,
        or_(
            SUB.c.activity_date < p.day,
            and_(SUB.c.activity_date == p.day, SUB.c.id < p.sid),
        ),
        or_(
            SUB.c.activity_date > p.after_day,
            and_(SUB.c.activity_date == p.after_day, SUB.c.id > p.after_sid),
        ),
    ]


class _Binds:
    """Window bounds as bind parameters, for one query per window."""

    form_pk = bindparam("form_pk", type_=Integer)
    commune = bindparam("commune", type_=String)
    day = bindparam("day", type_=Date)
    sid = bindparam("sid", type_=Integer)
    after_day = bindparam("after_day", type_=Date)
    after_sid = bindparam("after_sid", type_=Integer)


_NEWEST_FIRST = (SUB.c.activity_date.desc(), SUB.c.id.desc())


def _recent_ids(conn: Connection, batch: Sequence[Record]) -> set[int]:
    """The ids of every window's records (see _window_params). Each window walks the index on
    (form_pk, commune_code, activity_date) backwards and stops when full: on SQLite one small
    query each, on PostgreSQL all of a chunk in one query (a LATERAL join), since there every
    query is a round trip."""
    windows = _window_params(batch)
    found: set[int] = set()
    if conn.dialect.name != "postgresql":
        recent = (
            select(SUB.c.id)
            .where(*_in_window(_Binds))
            .order_by(*_NEWEST_FIRST)
            .limit(bindparam("window"))
        )
        for params in windows:
            found.update(conn.execute(recent, params).scalars())
        return found
    names = ("form_pk", "commune", "day", "sid", "after_day", "after_sid", "window")
    types = (Integer, String, Date, Integer, Date, Integer, Integer)
    for chunk in chunks(windows, 1000):
        bounds = values(
            *(column(n, t) for n, t in zip(names, types, strict=True)), name="bounds"
        ).data([tuple(w[n] for n in names) for w in chunk])
        lateral = (
            select(SUB.c.id)
            .where(*_in_window(bounds.c))
            .order_by(*_NEWEST_FIRST)
            .limit(bounds.c.window)
            .lateral("recent")
        )
        query = select(lateral.c.id).select_from(bounds).join(lateral, true())
        found.update(conn.execute(query).scalars())
    return found


# Every path some form's size reads (contract.SIZE), in one fixed order.
SIZE_PATHS = tuple(sorted({p for paths in c.SIZE.values() for p in paths}))


def _size_parts(conn: Connection) -> ColumnElement[Any]:
    """What a version's size is computed from. On SQLite, the SIZE_PATHS values as one JSON
    list, picked out by the database in one parse of the document (3.40 parses it again for
    every single-path json_extract). On PostgreSQL the document itself: its `json` type is
    re-parsed by every `->`, and the driver's decoding is faster than ten of those."""
    if conn.dialect.name == "postgresql":
        return VER.c.data.label("parts")
    paths = [literal(f'$."{p}"') for p in SIZE_PATHS]
    return func.json_extract(VER.c.data, *paths, type_=JSON).label("parts")


def _size(form_id: str, parts: object) -> float | None:
    if isinstance(parts, dict):
        return size_of(form_id, parts)
    if not isinstance(parts, list) or len(parts) != len(SIZE_PATHS):
        return None
    return size_of(form_id, dict(zip(SIZE_PATHS, parts, strict=True)))


# (form_pk, commune) → [(date, id), …] and the sizes in the same order, counted records only.
History = dict[tuple[int, str], tuple[list[tuple[dt.date, int]], list[float]]]


def build_histories(batch: Sequence[Record], points: Sequence[_Point]) -> History:
    by_pair: dict[tuple[int, str], list[tuple[dt.date, int, float]]] = {}
    for rec in batch:
        size = size_of(rec.form_id, rec.data)
        if rec.counted and rec.commune and rec.day and size is not None:
            by_pair.setdefault((rec.form_pk, rec.commune), []).append((rec.day, rec.id, size))
    for p in points:
        by_pair.setdefault((p.form_pk, p.commune), []).append((p.day, p.id, p.size))
    out: History = {}
    for key, items in by_pair.items():
        items.sort()
        out[key] = ([(d, i) for d, i, _ in items], [s for _, _, s in items])
    return out


def history_before(histories: History, rec: Record) -> Sequence[float]:
    if rec.commune is None or rec.day is None:
        return ()
    found = histories.get((rec.form_pk, rec.commune))
    if found is None:
        return ()
    keys, sizes = found
    end = bisect.bisect_left(keys, (rec.day, rec.id))
    return sizes[max(0, end - OUTLIER_WINDOW) : end]
