"""The cube held in memory: a full recompute loads the commune rows (and the rows distinct
counts read) once and reduces every level and period from them with pandas, giving what the
SQL reductions of cube_read.py give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, select

from pcmd.db.facts import FACT_TABLES, fact_column
from pcmd.db.tables import EST
from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.by_day import load_rows
from pcmd.pipeline.indicators.cube import CUBE, SlotMap, conditions, fetch
from pcmd.pipeline.indicators.cube_periods import coded, key_series, month_bounds, period_batches
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part


class Loaded:
    """The whole cube and the rows distinct counts read, in memory: a full recompute reduces
    every level and period from them with pandas instead of one SQL scan per reduction. The
    targeted path (cube_read.py) and this one are checked against each other
    (tests/pipeline/test_run.py: incremental runs end where a full recompute does)."""

    def __init__(self, conn: Connection, parts: Sequence[Part], slots: SlotMap) -> None:
        used = sorted(set(slots.values()))
        rows = fetch(
            conn,
            select(CUBE.c.org_code, CUBE.c.month, CUBE.c.province_code, *CUBE.c[tuple(used)]).where(
                CUBE.c.level == "commune"
            ),
        )
        # Codes as categories: every groupby below then works on small integers.
        self.cube = pd.DataFrame(
            rows, columns=["commune_code", "month", "province_code", *used]
        ).astype(
            {
                "commune_code": "category",
                "province_code": "category",
                "month": "int64",
                **dict.fromkeys(used, "float64"),
            }
        )
        self.slots = slots
        self.keys: dict[str, pd.DataFrame] = {}
        self.rows: dict[str, pd.DataFrame] = {}  # by-day parts' fact rows (quantities.py)
        for part in parts:
            part = replace(part, period=None)  # a shifted part reads the same rows
            if part.kind == "distinct" and part.id not in self.keys:
                self.keys[part.id] = self._keys(conn, part)
            if part.by_day and part.id not in self.rows:
                self.rows[part.id] = load_rows(conn, part)

    @staticmethod
    def _keys(conn: Connection, part: Part) -> pd.DataFrame:
        assert part.field is not None
        table = FACT_TABLES[part.forms[0]]
        col = table.c[fact_column(part.field)]
        conds: list[ColumnElement[bool]] = [col.is_not(None)]
        where = conditions(table, part.where)
        if where is not None:
            conds.append(where)
        rows = fetch(
            conn,
            select(col, table.c.commune_code, table.c.province_code, table.c.month).where(*conds),
        )
        frame = pd.DataFrame(rows, columns=["key", "commune_code", "province_code", "month"])
        if part.status is not None:
            # Only register ids whose establishment has that status now (KT1: active).
            ids = {r[0] for r in fetch(conn, select(EST.c.id).where(EST.c.status == part.status))}
            frame = frame[frame["key"].isin(ids)]
        return frame.astype(
            {
                "key": "category",
                "commune_code": "category",
                "province_code": "category",
                "month": "int64",
            }
        )


def _group_column(frame: pd.DataFrame, scope: Scope) -> pd.Series:
    if scope.level == "commune":
        return frame["commune_code"]
    if scope.level == "province":
        return frame["province_code"]
    return pd.Series(
        pd.Categorical.from_codes(np.zeros(len(frame), dtype="int8"), [scope.root]),
        index=frame.index,
    )


def _in_scope(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    if scope.root_level == "province":
        frame = frame[frame["province_code"] == scope.root]
    elif scope.root_level == "commune":
        frame = frame[frame["commune_code"] == scope.root]
    if scope.orgs is not None and scope.level != "country":
        frame = frame[_group_column(frame, scope).isin(scope.orgs)]
    return frame


def reduce_loaded(
    loaded: Loaded, parts: Sequence[Part], scope: Scope, periods: Sequence[Period]
) -> pd.DataFrame:
    """`reduce`, from the cube in memory."""
    unique: dict[str, Part] = {}
    for p in parts:
        if p.kind in ("records", "sum", "communes_with", "months_with", "distinct"):
            unique.setdefault(p.id, p)
    wanted = {p.code for p in periods}
    frames: list[pd.DataFrame] = []
    base = _in_scope(loaded.cube, scope)
    for kind, batch in period_batches(periods):
        lo, hi = month_bounds(batch)
        rows = base[(base["month"] >= lo) & (base["month"] <= hi)]
        if rows.empty:
            continue
        table = pd.DataFrame(
            {
                "org": _group_column(rows, scope).array,
                "pkey": key_series(rows["month"], kind, batch[0]).to_numpy(),
                "month": rows["month"].to_numpy(),
                "commune": rows["commune_code"].array,
            }
        )
        sums: dict[str, str] = {}
        for p in unique.values():
            if p.kind == "distinct":
                continue
            cols = sorted({loaded.slots[m.key] for m in p.measures()})
            table[p.id] = rows[cols].sum(axis=1).to_numpy()
            sums[p.id] = p.kind
        out: list[pd.Series] = []
        additive = [i for i, k in sums.items() if k in ("records", "sum")]
        if additive:
            got = table.groupby(["org", "pkey"], observed=True, sort=False)[additive].sum()
            out.extend(got[c] for c in additive)
        for by, kind_name in (("month", "months_with"), ("commune", "communes_with")):
            cols = [i for i, k in sums.items() if k == kind_name]
            if cols:
                inner = table.groupby(["org", "pkey", by], observed=True, sort=False)[cols].sum()
                got = (inner > 0).groupby(level=["org", "pkey"], observed=True, sort=False).sum()
                out.extend(got[c].astype(float) for c in cols)
        if out:
            frames.append(coded(pd.concat(out, axis=1), kind, wanted))
        for p in unique.values():
            if p.kind != "distinct":
                continue
            keys = _in_scope(loaded.keys[p.id], scope)
            keys = keys[(keys["month"] >= lo) & (keys["month"] <= hi)]
            if keys.empty:
                continue
            pairs = pd.DataFrame(
                {
                    "org": _group_column(keys, scope).array,
                    "pkey": key_series(keys["month"], kind, batch[0]).to_numpy(),
                    "key": keys["key"].array,
                }
            ).drop_duplicates()
            got = (
                pairs.groupby(["org", "pkey"], observed=True, sort=False)
                .size()
                .astype(float)
                .rename(p.id)
            )
            frames.append(coded(got.to_frame(), kind, wanted))
    filled = [f for f in frames if not f.empty]
    if not filled:
        return pd.DataFrame(
            columns=list(unique),
            index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
            dtype=float,
        )
    out_frame = pd.concat(filled, axis=0).groupby(level=["org", "period"]).sum(min_count=1)
    return out_frame.reindex(columns=list(unique)).fillna(0.0)
