"""Quantities counted from the fact rows on the day rather than from the cube, because they
change with the date: `deadline` parts (TG1, TG3 — a case received in the period is judged on
the period's reference day R, its last day or today if earlier: due when R is past its
deadline D or it was handled by R; in time when handled by min(D, R); overdue when R is past D
and it was not handled by R) and `records` parts over ended months only (BC2). The pipeline
recomputes the programmes that have such parts every day (run.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, select

from pcmd.db.facts import FACT_TABLES
from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.cube import conditions, fetch
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part
from pcmd.pipeline.indicators.part_periods import window

BASE = ["commune_code", "province_code", "month"]
DATES = ["deadline", "handled_date"]


def load_rows(
    conn: Connection, part: Part, scope: Scope | None = None, months: tuple[int, int] | None = None
) -> pd.DataFrame:
    """The fact rows a by-day part counts (with the scope's filters and the months, if
    given): commune, province, month, and for a deadline part its deadline and handled date."""
    table = FACT_TABLES[part.forms[0]]
    names = BASE + (DATES if part.kind == "deadline" else [])
    conds: list[ColumnElement[bool]] = []
    where = conditions(table, part.where)
    if where is not None:
        conds.append(where)
    if months is not None:
        conds.append(table.c.month.between(*months))
    if scope is not None:
        orgs = scope.orgs if scope.level == "commune" else None
        conds.extend(scope.fact_filters(table, orgs, conn.dialect.name))
    rows = fetch(conn, select(*(table.c[n] for n in names)).where(*conds))
    frame = pd.DataFrame(rows, columns=names)
    frame["month"] = frame["month"].astype("int64")
    for name in names[3:]:
        # the driver's own values: dates on PostgreSQL, ISO text on SQLite
        frame[name] = pd.to_datetime(frame[name].astype(object), errors="coerce")
    return frame


def _in_scope(rows: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    if scope.root_level == "province":
        rows = rows[rows["province_code"] == scope.root]
    elif scope.root_level == "commune":
        rows = rows[rows["commune_code"] == scope.root]
    if scope.orgs is not None and scope.level == "commune":
        rows = rows[rows["commune_code"].isin(list(scope.orgs))]
    return rows


def _units(rows: pd.DataFrame, scope: Scope) -> Any:
    if scope.level == "commune":
        return rows["commune_code"]
    if scope.level == "province":
        return rows["province_code"]
    return pd.Series(scope.root, index=rows.index)


def counted_on(rows: pd.DataFrame, part: Part, reference: dt.date) -> Any:
    """Which rows the part counts, judged on the reference day."""
    if part.kind != "deadline":
        return np.ones(len(rows), dtype=bool)
    day = pd.Timestamp(reference)
    deadline, handled = rows["deadline"], rows["handled_date"]
    handled_by_r = handled.notna() & (handled <= day)
    passed = deadline.notna() & (deadline < day)
    if part.count == "due":
        return passed | handled_by_r
    if part.count == "in_time":
        return handled_by_r & (handled <= deadline)
    return passed & ~handled_by_r  # overdue


def count_by_day(
    rows: pd.DataFrame, part: Part, scope: Scope, periods: Sequence[Period], today: dt.date
) -> pd.DataFrame:
    """The part's quantity per (org, period) of the scope: rows in the months the part counts
    of each period, that its rule counts on the period's reference day."""
    rows = _in_scope(rows, scope)
    pieces: list[pd.Series] = []
    for period in periods if not rows.empty else ():
        lo, hi = window(part, period, today)
        chosen = rows[(rows["month"] >= lo) & (rows["month"] <= hi)]
        if chosen.empty:
            continue
        chosen = chosen[counted_on(chosen, part, min(period.end, today))]
        if chosen.empty:
            continue
        counts = chosen.groupby(_units(chosen, scope).astype(str).to_numpy()).size()
        pieces.append(
            pd.Series(
                counts.to_numpy(dtype=float),
                index=pd.MultiIndex.from_arrays(
                    [counts.index.astype(str), [period.code] * len(counts)],
                    names=["org", "period"],
                ),
            )
        )
    if not pieces:
        return pd.DataFrame(
            columns=[part.id],
            index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
            dtype=float,
        )
    return pd.concat(pieces).rename(part.id).to_frame()
