"""Normalisation: the counted submissions as tidy fact tables, one typed row per activity.

A submission has a row in its form's fact table (`fact_outreach`, `fact_training`,
`fact_inspection`, `fact_support` here; the forms whose rows depend on other records —
`fact_case`, `fact_case_update`, `fact_monthly`, `fact_plan` — in normalise_groups.py) exactly
when it counts in the indicators (DESIGN §4: current version, not deleted, not rejected, no open
error) and can be placed: a commune known to the org-unit list and an activity date. The row
holds the current version's values typed as the contract says (models.FACT_FIELDS), the commune
and its province, the activity date and its month (YYYYMM), and the submission and version ids,
so every number can be traced back.

Rows are replaced per submission, so running this again on the same ids changes nothing; the
commune-months whose rows changed (before or after) are returned for the cube (cube.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, delete, select

from pcmd.db.chunks import chunks
from pcmd.db.facts import FACT_FIELDS, FACT_TABLES, fact_column
from pcmd.db.one_of import one_of
from pcmd.db.tables import FORM, ORG, SUB, VER
from pcmd.pipeline.validate.counted import counted_condition
from pcmd.pipeline.validate.unusable import LARGEST_USABLE, usable_number
from pcmd.pipeline.validate.values import as_date

CHUNK = 2000  # ids per IN (...) list and rows per insert batch
# Forms whose rows depend on other records (the last monthly report of a commune-month, a
# case with its steps) are normalised group by group in normalise_groups.py; the rest here.
GROUPED = ("pcmd_case", "pcmd_case_update", "pcmd_monthly", "pcmd_plan")
PLAIN = tuple(f for f in FACT_FIELDS if f not in GROUPED)
# Calculated totals are strings in the XForm binds (a `calculate` has no type), so the pipeline
# adds the parts itself: DESIGN §6 defines each total as the sum of these.
TOTALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pcmd_outreach": (
        "reach/n_total",
        (
            "reach/n_establishment_workers",
            "reach/n_industrial_workers",
            "reach/n_students",
            "reach/n_general",
        ),
    ),
    "pcmd_training": (
        "participants/n_total",
        (
            "participants/n_province_staff",
            "participants/n_commune_staff",
            "participants/n_police",
            "participants/n_collaborators",
            "participants/n_other",
        ),
    ),
}

Cell = tuple[str, int, str]  # (commune, month YYYYMM, province)


@dataclass
class NormaliseResult:
    written: int = 0  # fact rows written
    removed: int = 0  # fact rows of submissions that no longer count (or moved)
    unplaced: int = 0  # counted submissions without a known commune or an activity date
    cells: set[Cell] = field(default_factory=set)  # commune-months whose facts changed


def month_number(day: dt.date) -> int:
    return day.year * 100 + day.month


class Places:
    """Commune code → its province, era-aware: the unit with that code in force on the activity
    date, else the one in force now, else the latest (commune codes are unique only within an
    era, DESIGN §5)."""

    def __init__(self, conn: Connection) -> None:
        self.eras: dict[str, list[tuple[dt.date, dt.date | None, str | None]]] = {}
        rows = conn.execute(
            select(ORG.c.code, ORG.c.valid_from, ORG.c.valid_to, ORG.c.parent_code).where(
                ORG.c.level == "commune"
            )
        )
        for row in rows:
            self.eras.setdefault(row.code, []).append(
                (row.valid_from, row.valid_to, row.parent_code)
            )
        for eras in self.eras.values():
            eras.sort(key=lambda e: e[0])

    def province(self, commune: str, day: dt.date) -> str | None:
        eras = self.eras.get(commune)
        if not eras:
            return None
        for start, end, parent in eras:
            if start <= day and (end is None or day < end):
                return parent
        for _start, end, parent in reversed(eras):
            if end is None:
                return parent
        return eras[-1][2]


def _int(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is int:  # the usual answer, read from JSON: no further checks
        return value if -LARGEST_USABLE <= value <= LARGEST_USABLE else None
    if isinstance(value, bool) or not usable_number(value):
        return None  # too large to sum: the record carries PIPE_001
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            return None
        return number if usable_number(number) else None
    return None


def _float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not usable_number(value):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if usable_number(number) else None
    return None


def _text(value: object, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value).strip()
    return text[:limit] or None


_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "int": _int,
    "bigint": _int,
    "float": _float,
    "choice": lambda v: _text(v, 32),
    "choices": lambda v: _text(v, 400),
    "code": lambda v: _text(v, 64),
    "ref": lambda v: _text(v, 100),
    "date": lambda v: as_date(v),
}
COMMON = (
    "submission_id",
    "version_id",
    "commune_code",
    "province_code",
    "activity_date",
    "month",
    "reporter_org",
)


class _FormShape:
    """One form's fact columns, in table order, with how each is read from the typed values —
    worked out once, as this runs for every counted submission."""

    def __init__(self, form_id: str) -> None:
        self.fields = [(path, _CONVERTERS[kind]) for path, kind in FACT_FIELDS[form_id]]
        self.columns = [*COMMON, *(fact_column(p) for p, _k in FACT_FIELDS[form_id])]
        total = TOTALS.get(form_id)
        paths = [p for p, _k in FACT_FIELDS[form_id]]
        self.total: tuple[int, list[int]] | None = None
        if total is not None:
            self.total = (paths.index(total[0]), [paths.index(x) for x in total[1]])

    def values(self, data: dict[str, Any]) -> list[Any]:
        out = [convert(data.get(path)) for path, convert in self.fields]
        if self.total is not None:
            at, parts = self.total
            out[at] = sum(out[i] or 0 for i in parts)
        return out


SHAPES = {form_id: _FormShape(form_id) for form_id in FACT_FIELDS}


def typed_row(form_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The fact columns of one form's record from its typed values (SubmissionVersion.data).

    A value that does not have the contract's type becomes NULL: such a record carries a
    validation error and does not count, unless a reviewer accepted it as it is.
    """
    shape = SHAPES[form_id]
    return dict(zip(shape.columns[len(COMMON) :], shape.values(data), strict=True))


def _counted_rows(
    conn: Connection, ids: Sequence[int] | None, after: int = 0
) -> list[tuple[Any, ...]]:
    """(id, version id, commune, activity date, form id, data) of counted submissions, as the
    driver returns them: the JSON as text on SQLite (parsed here, once), a dict on PostgreSQL."""
    query = (
        select(
            SUB.c.id,
            SUB.c.current_version_id,
            SUB.c.commune_code,
            SUB.c.activity_date,
            FORM.c.form_id,
            VER.c.data,
        )
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .join(VER, VER.c.id == SUB.c.current_version_id)
        .where(counted_condition(), FORM.c.form_id.in_(list(PLAIN)))
        .order_by(SUB.c.id)
    )
    if ids is not None:
        query = query.where(one_of(conn.dialect.name, SUB.c.id, ids))
    else:
        query = query.where(SUB.c.id > after).limit(CHUNK * 5)
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _place(
    places: Places, rows: Sequence[tuple[Any, ...]], result: NormaliseResult
) -> dict[str, list[list[Any]]]:
    by_form: dict[str, list[list[Any]]] = {f: [] for f in FACT_FIELDS}
    for sid, version_id, commune, day, form_id, data in rows:
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        province = places.province(commune, day) if commune and day else None
        if province is None:
            result.unplaced += 1
            continue
        if isinstance(data, str | bytes):
            data = json.loads(data)
        if not isinstance(data, dict):
            data = {}
        month = day.year * 100 + day.month
        by_form[form_id].append(
            [
                sid,
                version_id,
                commune,
                province,
                day,
                month,
                _text(data.get("reporter_org"), 32),
                *SHAPES[form_id].values(data),
            ]
        )
        result.cells.add((commune, month, province))
    return by_form


def _insert(conn: Connection, by_form: dict[str, list[list[Any]]]) -> int:
    """Plain executemany with positional rows (COPY on PostgreSQL): this writes every counted
    submission on a full run, where building a dict per row would cost more than the insert."""
    written = 0
    dbapi = cast(Any, conn.connection.dbapi_connection)
    for form_id, rows in by_form.items():
        if not rows:
            continue
        table = FACT_TABLES[form_id].name
        columns = SHAPES[form_id].columns
        if conn.dialect.name == "postgresql":
            with (
                dbapi.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cur = dbapi.cursor()
            try:
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                    rows,
                )
            finally:
                cur.close()
        written += len(rows)
    return written


def normalise(
    conn: Connection, submission_ids: Sequence[int] | None, places: Places | None = None
) -> NormaliseResult:
    """Bring the fact rows of `submission_ids` (None: every submission) in line with what
    counts now, in the caller's transaction; `places` may be the caller's, read for the
    org-unit list as it is now."""
    result = NormaliseResult()
    places = places or Places(conn)
    _normalise_plain(conn, submission_ids, places, result)
    # imported here: normalise_groups builds on this module's rows and writer
    from pcmd.pipeline.normalise_groups import normalise_groups

    normalise_groups(conn, submission_ids, places, result)
    if submission_ids is None:
        result.cells.clear()  # everything changed: the caller rebuilds the whole cube
    return result


def _normalise_plain(
    conn: Connection, submission_ids: Sequence[int] | None, places: Places, result: NormaliseResult
) -> None:
    plain = [FACT_TABLES[f] for f in PLAIN]
    if submission_ids is None:
        for table in plain:
            conn.execute(delete(table))
        after = 0
        while True:
            rows = _counted_rows(conn, None, after)
            if not rows:
                break
            after = rows[-1][0]
            result.written += _insert(conn, _place(places, rows, result))
        return

    ids = sorted(set(submission_ids))
    for chunk in chunks(ids, CHUNK):
        had: set[int] = set()
        for table in plain:
            old = conn.execute(
                select(
                    table.c.submission_id,
                    table.c.commune_code,
                    table.c.month,
                    table.c.province_code,
                ).where(one_of(conn.dialect.name, table.c.submission_id, chunk))
            ).all()
            if old:
                result.cells.update((r.commune_code, r.month, r.province_code) for r in old)
                had.update(r.submission_id for r in old)
                conn.execute(
                    delete(table).where(one_of(conn.dialect.name, table.c.submission_id, chunk))
                )
        by_form = _place(places, _counted_rows(conn, chunk), result)
        result.written += _insert(conn, by_form)
        now = {row[0] for rows in by_form.values() for row in rows}
        result.removed += len(had - now)
