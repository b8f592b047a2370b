"""Reductions of the cube in SQL: every indicator quantity over an org unit and a period's
months, for targeted runs (incremental runs, on-demand periods).

Every quantity is a reduction of the cube, or for distinct counts of the fact rows:

- records / sum: Σ of the part's slots over the unit's rows for the period's months;
- months_with: the months whose row has the part's slots adding up to more than 0;
- communes_with: the communes whose rows over the period add up to more than 0;
- distinct: distinct values of a fact column (KT1: register ids, active in the register).

The unit's own rows make the first two a read of at most one row per month, whatever the level.
The full recompute reduces the same way from the cube in memory (cube_memory.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, case, func, literal, select

from pcmd.db.facts import FACT_TABLES, fact_column
from pcmd.db.tables import EST
from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.cube import CUBE, SlotMap, conditions, fetch
from pcmd.pipeline.indicators.cube_periods import (
    coded,
    key_series,
    month_bounds,
    month_span,
    period_batches,
    period_code,
    period_key,
)
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part


def _slot_sum(table: Any, part: Part, slots: SlotMap) -> ColumnElement[Any]:
    cols = sorted({slots[m.key] for m in part.measures()})
    expr: ColumnElement[Any] = table.c[cols[0]]
    for col in cols[1:]:
        expr = expr + table.c[col]
    return expr


def _cached(memo: dict[Any, Any] | None, tag: Any, lo: int, hi: int) -> Any:
    """A month-grain read made earlier in this run that covers [lo, hi], if any."""
    for key, value in (memo or {}).items():
        if key[0] == tag and key[1] <= lo and hi <= key[2]:
            return value
    return None


def _monthly(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    memo: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """Records, sums and months with records, from the unit's own rows (one per month); at
    the commune level also whether the commune had records at all (communes_with). The rows
    of the widest period asked for are read once (memo) and serve the shorter ones."""
    lo, hi = month_bounds(periods)
    ids = [p.id for p in parts]
    tag = ("monthly", scope.level, scope.root, tuple(ids), tuple(orgs) if orgs else None)
    table = _cached(memo, tag, lo, hi)
    if table is None:
        rows = fetch(
            conn,
            select(
                CUBE.c.org_code, CUBE.c.month, *(_slot_sum(CUBE, p, slots) for p in parts)
            ).where(CUBE.c.month.between(lo, hi), *scope.cube_filters(orgs)),
        )
        table = pd.DataFrame(rows, columns=["org", "month", *ids]).astype({"month": "int64"})
        if memo is not None:
            memo[(tag, lo, hi)] = table
    table = table[(table["month"] >= lo) & (table["month"] <= hi)]
    if table.empty:
        return _empty(ids)
    keys = [
        table["org"].rename("org"),
        key_series(table["month"], kind, periods[0]).rename("pkey"),
    ]
    values = table[ids].astype(float)
    additive = [p.id for p in parts if p.kind in ("records", "sum")]
    months = [p.id for p in parts if p.kind == "months_with"]
    communes = [p.id for p in parts if p.kind == "communes_with"]  # commune level: itself
    out = []
    if additive:
        out.append(values[additive].groupby(keys).sum())
    if months:
        out.append((values[months] > 0).groupby(keys).sum().astype(float))
    if communes:
        out.append((values[communes].groupby(keys).sum() > 0).astype(float))
    frame = pd.concat(out, axis=1)[ids]
    return coded(frame, kind, {x.code for x in periods})


def _communes_with(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    memo: dict[Any, pd.DataFrame] | None,
) -> pd.DataFrame:
    """Per (province or country, period): communes whose rows over the period add up to more
    than 0. Counted per province, the country's being their sum (a commune is in one province);
    with a `memo`, the province query serves both levels."""
    codes = {p.code for p in periods}
    key_of = (tuple(p.id for p in parts), kind, tuple(sorted(codes)), scope.root)
    by_province = memo.get(key_of) if memo is not None else None
    if by_province is None:
        lo, hi = month_bounds(periods)
        key = period_key(CUBE.c.month, kind) if kind != "years" else literal(periods[0].code)
        conds = [CUBE.c.level == "commune", CUBE.c.month.between(lo, hi)]
        if scope.root_level == "province":
            conds.append(CUBE.c.province_code == scope.root)
        inner = (
            select(
                CUBE.c.province_code.label("org"),
                key.label("pkey"),
                *(func.sum(_slot_sum(CUBE, p, slots)).label(f"s{i}") for i, p in enumerate(parts)),
            )
            .where(*conds)
            .group_by(CUBE.c.province_code, key, CUBE.c.org_code)
            .subquery()
        )
        rows = fetch(
            conn,
            select(
                inner.c.org,
                inner.c.pkey,
                *(func.sum(case((inner.c[f"s{i}"] > 0, 1), else_=0)) for i in range(len(parts))),
            ).group_by(inner.c.org, inner.c.pkey),
        )
        by_province = _frame(rows, [p.id for p in parts], kind, codes)
        if memo is not None:
            memo[key_of] = by_province
    if scope.level == "province" or by_province.empty:
        return by_province
    total = by_province.groupby(level="period").sum()
    return total.set_axis(
        pd.MultiIndex.from_arrays([[scope.root] * len(total), total.index], names=["org", "period"])
    )


def _distinct(
    conn: Connection,
    part: Part,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    memo: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """Distinct values per (unit, period), from the distinct (unit, month, value) triples of
    the widest period asked for (read once, memo). Provinces and the country share the
    province triples: a distinct count does not add up across provinces, the triples do. The
    register filter (KT1: active establishments) is applied to the triples, not joined in SQL:
    reading the index alone is several times faster."""
    assert part.field is not None
    table = FACT_TABLES[part.forms[0]]
    lo, hi = month_bounds(periods)
    codes = {p.code for p in periods}
    col = table.c[fact_column(part.field)]
    group = table.c.commune_code if scope.level == "commune" else table.c.province_code
    tag = (
        "distinct",
        part.id,
        scope.root,
        "commune" if scope.level == "commune" else "province",
        tuple(orgs) if orgs else None,
    )
    triples = _cached(memo, tag, lo, hi)
    if triples is None:
        conds: list[ColumnElement[bool]] = [table.c.month.between(lo, hi), col.is_not(None)]
        where = conditions(table, part.where)
        if where is not None:
            conds.append(where)
        conds.extend(scope.fact_filters(table, orgs if scope.level == "commune" else None))
        rows = fetch(conn, select(group, table.c.month, col).distinct().where(*conds))
        triples = pd.DataFrame(rows, columns=["unit", "month", "value"]).astype({"month": "int64"})
        if part.status is not None:
            triples = triples[triples["value"].isin(_register(conn, part.status, memo))]
        if memo is not None:
            memo[(tag, lo, hi)] = triples
    in_range = triples[(triples["month"] >= lo) & (triples["month"] <= hi)]
    if in_range.empty:
        return _empty([part.id])
    keyed = pd.DataFrame(
        {
            "unit": in_range["unit"].to_numpy(),
            "pkey": key_series(in_range["month"], kind, periods[0]).to_numpy(),
            "value": in_range["value"].to_numpy(),
        }
    ).drop_duplicates()
    if scope.level == "country":
        counts = keyed.groupby("pkey")["value"].nunique()
        counts.index = pd.MultiIndex.from_arrays(
            [[scope.root] * len(counts), counts.index], names=["org", "pkey"]
        )
    else:
        counts = keyed.groupby(["unit", "pkey"]).size()
    return coded(counts.astype(float).rename(part.id).to_frame(), kind, codes)


def _register(conn: Connection, status: str, memo: dict[Any, Any] | None) -> set[str]:
    """Register ids with this status (memoised for the run)."""
    key = ("register", status)
    found = (memo or {}).get(key)
    if found is None:
        found = {r[0] for r in fetch(conn, select(EST.c.id).where(EST.c.status == status))}
        if memo is not None:
            memo[key] = found
    return set(found)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        columns=list(columns),
        index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
        dtype=float,
    )


def reduce(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    periods: Sequence[Period],
    memo: dict[Any, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Every part's quantity for the scope's org units × `periods`: a frame indexed by
    (org, period) with one column per part id. Units and periods without records are absent
    (their quantities are 0); at the province level other provinces may be present too."""
    unique: dict[str, Part] = {}
    for p in parts:
        if p.kind in ("records", "sum", "communes_with", "months_with", "distinct"):
            unique.setdefault(p.id, p)
    own = [p for p in unique.values() if p.kind in ("records", "sum", "months_with")]
    spread = [p for p in unique.values() if p.kind == "communes_with"]
    if scope.level == "commune":
        own, spread = own + spread, []
    frames: list[pd.DataFrame] = []
    # The widest period first, so that memoised month-grain reads serve the shorter ones.
    batches = sorted(period_batches(periods), key=lambda b: month_span(b[1]), reverse=True)
    for kind, batch in batches:
        for orgs in scope.org_batches():
            if own:
                frames.append(_monthly(conn, own, slots, scope, kind, batch, orgs, memo))
            for p in unique.values():
                if p.kind == "distinct":
                    frames.append(_distinct(conn, p, scope, kind, batch, orgs, memo))
        if spread:
            frames.append(_communes_with(conn, spread, slots, scope, kind, batch, memo))
    filled = [f for f in frames if not f.empty]
    if not filled:
        return _empty(list(unique))
    # Each part's column comes from one query per (org, period); the sum only aligns them.
    out = pd.concat(filled, axis=0).groupby(level=["org", "period"]).sum(min_count=1)
    return out.reindex(columns=list(unique)).fillna(0.0)


def _frame(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[str], kind: str, wanted: set[str]
) -> pd.DataFrame:
    if not rows:
        return _empty(columns)
    codes = [r[1] if kind == "years" else period_code(r[1], kind) for r in rows]
    frame = pd.DataFrame(
        [r[2:] for r in rows],
        columns=list(columns),
        index=pd.MultiIndex.from_arrays(
            [[str(r[0]) for r in rows], codes], names=["org", "period"]
        ),
        dtype=float,
    )
    return frame[frame.index.get_level_values("period").isin(wanted)]
