"""Every part's quantity for a scope and periods, whatever it is read from: the cube's
reductions (cube_read.py in SQL, cube_memory.py in memory), parts read for a shifted period
(`period = "year_before" | "last_year"`, part_periods.py) relabelled to the period asked for,
and parts counted from the fact rows on the day (by_day.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.by_day import count_by_day, load_rows
from pcmd.pipeline.indicators.cube import SlotMap
from pcmd.pipeline.indicators.cube_memory import Loaded, reduce_loaded
from pcmd.pipeline.indicators.cube_read import reduce
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part
from pcmd.pipeline.indicators.part_periods import shifted, window

READ_KINDS = ("records", "sum", "communes_with", "months_with", "distinct", "deadline")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        columns=list(columns),
        index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
        dtype=float,
    )


def quantities(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    periods: Sequence[Period],
    today: dt.date,
    memo: dict[Any, Any] | None = None,
    loaded: Loaded | None = None,
) -> pd.DataFrame:
    """What cube_read.reduce returns — a frame indexed by (org, period), one column per part
    read from records, absent cells being 0 — for parts of every kind and option."""
    unique: dict[str, Part] = {}
    for p in parts:
        if p.kind in READ_KINDS:
            unique.setdefault(p.id, p)
    if not unique or not periods:
        return _empty(list(unique))
    # In memory, parts read for another period are reduced with the others (each part
    # reads its own window of months); in SQL they are read for the shifted periods below.
    plain = [
        p for p in unique.values() if not p.by_day and (p.period is None or loaded is not None)
    ]
    frames: list[pd.DataFrame] = []
    if plain:
        frames.append(
            reduce(conn, plain, slots, scope, periods, memo)
            if loaded is None
            else reduce_loaded(loaded, plain, scope, periods)
        )
    for p in unique.values():
        if p.period is None and p.by_day:
            frames.append(
                count_by_day(
                    _rows(conn, p, scope, periods, today, loaded), p, scope, periods, today
                )
            )
    later = [p for p in unique.values() if p.period and p not in plain]
    for shift in sorted({p.period for p in later if p.period}):
        frames.append(
            _shifted(
                conn,
                [p for p in later if p.period == shift],
                shift,
                slots,
                scope,
                periods,
                today,
                memo,
                loaded,
            )
        )
    filled = [f for f in frames if not f.empty]
    if not filled:
        return _empty(list(unique))
    out = pd.concat(filled, axis=0).groupby(level=["org", "period"]).sum(min_count=1)
    return out.reindex(columns=list(unique)).fillna(0.0)


def _rows(
    conn: Connection,
    part: Part,
    scope: Scope,
    periods: Sequence[Period],
    today: dt.date,
    loaded: Loaded | None,
) -> pd.DataFrame:
    if loaded is not None and part.id in loaded.rows:
        return loaded.rows[part.id]
    bounds = [window(part, p, today) for p in periods]
    return load_rows(conn, part, scope, (min(b[0] for b in bounds), max(b[1] for b in bounds)))


def _shifted(
    conn: Connection,
    parts: Sequence[Part],
    shift: str,
    slots: SlotMap,
    scope: Scope,
    periods: Sequence[Period],
    today: dt.date,
    memo: dict[Any, Any] | None,
    loaded: Loaded | None,
) -> pd.DataFrame:
    """Parts read for the shifted periods, relabelled to the periods asked for."""
    base = {p.id: replace(p, period=None) for p in parts}
    targets = {p.code: shifted(p, shift) for p in periods}
    others = {o.code: o for o in targets.values() if o is not None}
    if not others:
        return _empty(list(base))
    got = quantities(
        conn, list(base.values()), slots, scope, list(others.values()), today, memo, loaded
    )
    if got.empty:
        return _empty(list(base))
    # Relabel in one go: each row of a shifted period becomes a row of every period asked
    # for that reads it (usually one).
    wanted: dict[str, list[str]] = {}
    for code, other in targets.items():
        if other is not None:
            wanted.setdefault(other.code, []).append(code)
    read = got.index.get_level_values("period")
    codes, uniques = pd.factorize(read)
    lists = [wanted.get(str(u), []) for u in uniques]
    counts = np.array([len(x) for x in lists], dtype=np.int64)[codes]
    if not counts.any():
        return _empty(list(base))
    rows = np.repeat(np.arange(len(got)), counts)
    labels = [code for c in codes.tolist() for code in lists[c]]
    orgs = got.index.get_level_values("org").to_numpy()[rows]
    out = pd.DataFrame(
        got.to_numpy()[rows],
        columns=got.columns,
        index=pd.MultiIndex.from_arrays([orgs, labels], names=["org", "period"]),
    )
    return out.rename(columns={b.id: pid for pid, b in base.items()})[list(base)]
