"""Replacing the stored values of a few cells, writing only the rows that changed.

An incremental run recomputes every value of the cells its changed records touch (about 1,350
cells × 25 indicators for 1,000 new records), but most of those values stay as they were: a
commune's new outreach record moves the outreach indicators, not the inspection ones, nor any
denominator. So every row goes to the database as an upsert on the table's unique key whose
update applies only when a field differs: the comparison is made by the database, row by row
in the statement, and an unchanged row is neither written nor given a new `computed_at` (as in
a full recompute, digest.py). The rows of touched cells that no longer have any counted
record are deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Connection

from pcmd.db.chunks import chunks
from pcmd.pipeline.cells import IV_COLUMNS, sql_text

_KEY = ", ".join(("programme", "period", "org_code", "indicator"))  # uq_indicator_values_key
_FIELDS = ("numerator", "denominator", "value", "target", "status")


def _conflict(differs: str) -> str:
    """Update the stored row only when one of its fields differs (NULL-safe)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in (*_FIELDS, "computed_at"))
    where = " OR ".join(f"indicator_values.{c} {differs} excluded.{c}" for c in _FIELDS)
    return f"ON CONFLICT ({_KEY}) DO UPDATE SET {sets} WHERE {where}"


def replace_cells(
    conn: Connection,
    programme: str,
    cells: Iterable[tuple[str, str]],
    records: Sequence[tuple[Any, ...]],
    present: Iterable[tuple[str, str]] | None = None,
) -> int:
    """Make the stored rows of these (org, period) cells the `records` (cells.to_records'
    rows, all of `programme` and of one time); the cells not `present` (default: without
    records) have no values and lose their rows. Returns the rows inserted or changed."""
    if present is None:
        present = {(rec[2], rec[3]) for rec in records}
    gone = set(cells) - set(present)
    if gone:
        _delete(conn, programme, gone)
    return _upsert(conn, records) if records else 0


def complete_cells(
    conn: Connection, programme: str, cells: Iterable[tuple[str, str]], indicators: int
) -> set[tuple[str, str]]:
    """The cells that have a stored row for each of the programme's `indicators` (read from
    the unique index alone)."""
    wanted = set(cells)
    periods = sorted({p for _o, p in wanted})
    orgs = sorted({o for o, _p in wanted})
    if not wanted:
        return set()
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    found: set[tuple[str, str]] = set()
    cur = _dbapi(conn).cursor()
    try:
        for batch in chunks(orgs, 900):
            cur.execute(
                "SELECT org_code, period, count(*) FROM indicator_values "  # noqa: S608
                f"WHERE programme = {mark} AND period IN ({', '.join([mark] * len(periods))}) "
                f"AND org_code IN ({', '.join([mark] * len(batch))}) GROUP BY org_code, period",
                (programme, *periods, *batch),
            )
            found.update((o, p) for o, p, n in cur.fetchall() if n == indicators)
    finally:
        cur.close()
    return found & wanted


def _dbapi(conn: Connection) -> Any:
    return cast(Any, conn.connection.dbapi_connection)


def _delete(conn: Connection, programme: str, cells: set[tuple[str, str]]) -> None:
    by_period: dict[str, list[str]] = {}
    for org, period in sorted(cells):
        by_period.setdefault(period, []).append(org)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    cur = _dbapi(conn).cursor()
    try:
        for period, orgs in by_period.items():
            for batch in chunks(orgs, 900):
                cur.execute(
                    "DELETE FROM indicator_values WHERE "  # noqa: S608 - marks only
                    f"programme = {mark} AND period = {mark} "
                    f"AND org_code IN ({', '.join([mark] * len(batch))})",
                    (programme, period, *batch),
                )
    finally:
        cur.close()


def _upsert(conn: Connection, records: Sequence[tuple[Any, ...]]) -> int:
    """Insert the rows, or update the row of the same key in place where it differs: one
    statement for the lot on PostgreSQL; on SQLite each row binds only its own eight values."""
    programme, now = records[0][0], records[0][-1]
    cur = _dbapi(conn).cursor()
    try:
        if conn.dialect.name == "postgresql":
            names = IV_COLUMNS[1:-1]
            casts = ["text"] * 3 + ["float8"] * 4 + ["text"]
            picked = ", ".join(f"t.{n}" for n in names)
            arrays = ", ".join(f"%s::{c}[]" for c in casts)
            cur.execute(
                f"INSERT INTO indicator_values ({', '.join(IV_COLUMNS)}) "  # noqa: S608
                f"SELECT %s::text, {picked}, %s::timestamptz "
                f"FROM unnest({arrays}) AS t({', '.join(names)}) " + _conflict("IS DISTINCT FROM"),
                (programme, now, *([r[i] for r in records] for i in range(1, 9))),
            )
        else:
            stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
            cur.executemany(
                f"INSERT INTO indicator_values ({', '.join(IV_COLUMNS)}) VALUES "  # noqa: S608
                f"({sql_text(programme)}, ?, ?, ?, ?, ?, ?, ?, ?, {sql_text(stamp)}) "
                + _conflict("IS NOT"),
                (rec[1:-1] for rec in records),
            )
        return int(cur.rowcount)
    finally:
        cur.close()
