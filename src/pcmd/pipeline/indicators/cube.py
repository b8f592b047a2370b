"""The monthly cube: the programmes' measures per org unit and month, and reductions over it.

`activity_cube` holds, for every commune-month with at least one counted record, the value of
every additive measure of the active programmes (programme.Measure: records of a form matching
a filter, or the sum of a field), and the same sums for every province-month and country-month
(level "province", "country"). Slot `vNN` holds the measure the slot map assigns to it; the map
is kept in the pipeline's cursor, and when it changes the cube is rebuilt. A commune-month
belongs to the province recorded in its fact rows.

Every indicator quantity is a reduction of the cube, or for distinct counts of the fact rows,
over an org unit and a period's months:

- records / sum: Σ of the part's slots over the unit's rows for the period's months;
- months_with: the months whose row has the part's slots adding up to more than 0;
- communes_with: the communes whose rows over the period add up to more than 0;
- distinct: distinct values of a fact column (KT1: register ids, active in the register).

The unit's own rows make the first two a read of at most one row per month, whatever the level.
Targeted reductions (incremental runs, on-demand periods) run these in SQL (`reduce`); the full
recompute loads the commune rows once and reduces them with pandas (`reduce_loaded`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)

from pcmd.db.facts import ACTIVITY_CUBE, CUBE_SLOTS, FACT_TABLES, fact_column
from pcmd.db.tables import EST
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.programme import Condition, Measure, Part

CUBE = ACTIVITY_CUBE
ORG_CHUNK = 900  # codes per IN (...): well under SQLite's and PostgreSQL's parameter limits

Level = str  # country | province | commune
LEVELS = ("commune", "province", "country")
SlotMap = dict[str, str]  # measure key → cube column


def assign_slots(measures: Iterable[Measure]) -> SlotMap:
    """Cube columns for the measures, in a stable order (by key)."""
    keys = sorted({m.key for m in measures})
    if len(keys) > CUBE_SLOTS:
        raise PipelineError(
            f"Các chương trình đang dùng cần {len(keys)} đại lượng, khối dữ liệu chỉ có "
            f"{CUBE_SLOTS} cột (the active programmes need {len(keys)} measures; the cube has "
            f"{CUBE_SLOTS} columns). Fix: remove a programme with `pcmd programmes remove`, or "
            "reuse the measures of pcmd_1629 in the plan."
        )
    return {key: f"v{n:02d}" for n, key in enumerate(keys, start=1)}


def _condition(table: Any, cond: Condition) -> ColumnElement[bool]:
    col = table.c[fact_column(cond.field)]
    if not cond.multiple:
        return col.in_(cond.values)  # type: ignore[no-any-return]
    # select_multiple is stored space-separated: "has this choice" is a padded LIKE.
    padded = literal(" ") + col + literal(" ")
    return or_(*(padded.like(f"% {v} %") for v in cond.values))


def conditions(table: Any, conds: Sequence[Condition]) -> ColumnElement[bool] | None:
    """A part's `where` on a fact table, in SQL (None when it has none)."""
    if not conds:
        return None
    return and_(*(_condition(table, c) for c in conds))


def _measure_expr(table: Any, measure: Measure) -> ColumnElement[Any]:
    value: ColumnElement[Any] = (
        func.coalesce(table.c[fact_column(measure.field)], 0) if measure.field else literal(1)
    )
    cond = conditions(table, measure.where)
    return value if cond is None else case((cond, value), else_=0)


def _commune_rows(
    conn: Connection,
    measures: Sequence[Measure],
    slots: SlotMap,
    communes: Sequence[str] | None,
    months: Sequence[int] | None,
) -> None:
    """Insert the commune rows of `communes` × `months` (None: all) from the fact tables: the
    three forms' rows in one union, grouped once (at a million records this sequential scan and
    sort beat grouping each table along its index and merging with upserts)."""
    used = sorted({slots[m.key] for m in measures})
    branches = []
    for form_id, table in FACT_TABLES.items():
        exprs: dict[str, ColumnElement[Any]] = {}
        for m in measures:
            if m.form == form_id:
                expr = _measure_expr(table, m)
                col = slots[m.key]
                exprs[col] = exprs[col] + expr if col in exprs else expr
        if not exprs:
            continue
        branch = select(
            table.c.commune_code,
            table.c.month,
            table.c.province_code,
            *(exprs.get(col, literal(0)).label(col) for col in used),
        )
        if communes is not None and months is not None:
            branch = branch.where(table.c.commune_code.in_(communes), table.c.month.in_(months))
        branches.append(branch)
    if not branches:
        return
    rows = union_all(*branches).subquery()
    source = select(
        rows.c.month,
        literal("commune"),
        rows.c.commune_code,
        func.max(rows.c.province_code),
        *(func.sum(rows.c[col]) for col in used),
    ).group_by(rows.c.commune_code, rows.c.month)
    _insert(conn, source, used)


def _rollup_rows(
    level: str,
    root: str,
    used: Sequence[str],
    months: Sequence[int] | None,
    provinces: Sequence[str] | None = None,
) -> Select[Any]:
    """Province rows as the sums of their communes' rows, or country rows of the provinces'."""
    below = "commune" if level == "province" else "province"
    org: ColumnElement[Any] = CUBE.c.province_code if level == "province" else literal(root)
    query = select(
        CUBE.c.month,
        literal(level),
        org,
        org,
        *(func.sum(CUBE.c[col]) for col in used),
    ).where(CUBE.c.level == below)
    if months is not None:
        query = query.where(CUBE.c.month.in_(months))
    if provinces is not None:
        query = query.where(CUBE.c.province_code.in_(provinces))
    return query.group_by(CUBE.c.month, org)


def _insert(conn: Connection, source: Select[Any], used: Sequence[str]) -> None:
    conn.execute(
        insert(CUBE).from_select(["month", "level", "org_code", "province_code", *used], source)
    )


def rebuild_cube(conn: Connection, measures: Sequence[Measure], slots: SlotMap, root: str) -> None:
    """The whole cube again, from the fact tables."""
    conn.execute(delete(CUBE))
    if not measures:
        return
    used = sorted({slots[m.key] for m in measures})
    _commune_rows(conn, measures, slots, None, None)
    _insert(conn, _rollup_rows("province", root, used, None), used)
    _insert(conn, _rollup_rows("country", root, used, None), used)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def update_cube(
    conn: Connection,
    measures: Sequence[Measure],
    slots: SlotMap,
    cells: Iterable[tuple[str, int, str]],
    root: str,
) -> None:
    """Recompute the rows of these (commune, month, province) cells from their fact rows, then
    their provinces' and the country's rows for those months. Communes are taken in batches
    with the months any of them changed — a few more cells than changed, recomputed to the same
    values, for plain IN lists the indexes serve."""
    by_commune: dict[str, set[int]] = {}
    provinces: set[str] = set()
    for commune, month, province in cells:
        by_commune.setdefault(commune, set()).add(month)
        provinces.add(province)
    if not by_commune:
        return
    used = sorted({slots[m.key] for m in measures})
    all_months: set[int] = set()
    for batch in _chunks(sorted(by_commune), ORG_CHUNK):
        months = sorted(set().union(*(by_commune[c] for c in batch)))
        all_months.update(months)
        conn.execute(
            delete(CUBE).where(
                CUBE.c.level == "commune", CUBE.c.org_code.in_(batch), CUBE.c.month.in_(months)
            )
        )
        if measures:
            _commune_rows(conn, measures, slots, batch, months)
    months = sorted(all_months)
    conn.execute(
        delete(CUBE).where(
            CUBE.c.level == "province",
            CUBE.c.org_code.in_(sorted(provinces)),
            CUBE.c.month.in_(months),
        )
    )
    conn.execute(delete(CUBE).where(CUBE.c.level == "country", CUBE.c.month.in_(months)))
    if measures:
        _insert(conn, _rollup_rows("province", root, used, months, sorted(provinces)), used)
        _insert(conn, _rollup_rows("country", root, used, months), used)


# --- reductions ------------------------------------------------------------------------------


def fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """Rows as plain tuples straight from the driver: reductions return codes and numbers,
    which need no conversion, and building SQLAlchemy rows would cost more than the query."""
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _period_key(month: Any, kind: str) -> ColumnElement[Any]:
    if kind == "month":
        return month  # type: ignore[no-any-return]
    if kind == "quarter":
        return (month // 100) * 10 + (month % 100 + 2) // 3  # type: ignore[no-any-return]
    return month // 100  # type: ignore[no-any-return]


def _period_code(key: Any, kind: str) -> str:
    k = int(key)
    if kind == "month":
        return f"{k:06d}"
    if kind == "quarter":
        return f"{k // 10:04d}Q{k % 10}"
    return f"{k:04d}"


def _month_bounds(periods: Sequence[Period]) -> tuple[int, int]:
    lo = min(p.start for p in periods)
    hi = max(p.end for p in periods)
    return lo.year * 100 + lo.month, hi.year * 100 + hi.month


def _month_span(periods: Sequence[Period]) -> int:
    lo, hi = _month_bounds(periods)
    return (hi // 100 - lo // 100) * 12 + hi % 100 - lo % 100


def _batches(periods: Sequence[Period]) -> Iterator[tuple[str, Sequence[Period]]]:
    """Periods grouped so one query serves each group: months, quarters, years share a key
    expression; a multi-year period is queried alone."""
    by_kind: dict[str, list[Period]] = {}
    for p in periods:
        by_kind.setdefault(p.kind, []).append(p)
    for kind, group in by_kind.items():
        if kind == "years":
            for p in group:
                yield kind, [p]
        else:
            yield kind, group


class Scope:
    """Where a reduction looks: the level it groups by, the programme's root, and optionally
    the org units of that level it needs (communes only: provinces are few enough to read all
    and drop the others)."""

    def __init__(
        self,
        level: Level,
        root: str,
        root_level: Level,
        orgs: Sequence[str] | None = None,
    ) -> None:
        self.level = level
        self.root = root
        self.root_level = root_level
        self.orgs = orgs

    def group(self, table: Any) -> ColumnElement[Any]:
        """The unit a fact row belongs to at this level."""
        if self.level == "commune":
            return table.c.commune_code  # type: ignore[no-any-return]
        if self.level == "province":
            return table.c.province_code  # type: ignore[no-any-return]
        return literal(self.root)

    def fact_filters(self, table: Any, orgs: Sequence[str] | None) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.root_level == "province":
            out.append(table.c.province_code == self.root)
        elif self.root_level == "commune":
            out.append(table.c.commune_code == self.root)
        if orgs is not None and self.level == "commune":
            out.append(table.c.commune_code.in_(orgs))
        return out

    def cube_filters(self, orgs: Sequence[str] | None) -> list[ColumnElement[bool]]:
        """The unit's own rows in the cube."""
        out: list[ColumnElement[bool]] = [CUBE.c.level == self.level]
        if self.level == "province" and self.root_level == "province":
            out.append(CUBE.c.org_code == self.root)
        elif self.level == "commune" and self.root_level != "country":
            out.append(CUBE.c.province_code == self.root)
        if orgs is not None and self.level == "commune":
            out.append(CUBE.c.org_code.in_(orgs))
        return out

    def org_batches(self) -> Iterator[Sequence[str] | None]:
        if self.orgs is None or self.level != "commune":
            yield None
            return
        yield from _chunks(list(self.orgs), ORG_CHUNK)


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
    lo, hi = _month_bounds(periods)
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
        _key_series(table["month"], kind, periods[0]).rename("pkey"),
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
    return _coded(frame, kind, {x.code for x in periods})


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
        lo, hi = _month_bounds(periods)
        key = _period_key(CUBE.c.month, kind) if kind != "years" else literal(periods[0].code)
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
    lo, hi = _month_bounds(periods)
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
            "pkey": _key_series(in_range["month"], kind, periods[0]).to_numpy(),
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
    return _coded(counts.astype(float).rename(part.id).to_frame(), kind, codes)


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
    batches = sorted(_batches(periods), key=lambda b: _month_span(b[1]), reverse=True)
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
    codes = [r[1] if kind == "years" else _period_code(r[1], kind) for r in rows]
    frame = pd.DataFrame(
        [r[2:] for r in rows],
        columns=list(columns),
        index=pd.MultiIndex.from_arrays(
            [[str(r[0]) for r in rows], codes], names=["org", "period"]
        ),
        dtype=float,
    )
    return frame[frame.index.get_level_values("period").isin(wanted)]


# --- the same reductions over a cube held in memory (the full recompute) ----------------------


class Loaded:
    """The whole cube and the rows distinct counts read, in memory: a full recompute reduces
    every level and period from them with pandas instead of one SQL scan per reduction. The
    targeted path above and this one are checked against each other (tests/pipeline/test_run.py:
    incremental runs end where a full recompute does)."""

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
        for part in parts:
            if part.kind == "distinct" and part.id not in self.keys:
                self.keys[part.id] = self._keys(conn, part)

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


def _key_series(month: pd.Series, kind: str, period: Period | None) -> pd.Series:
    if kind == "month":
        return month
    if kind == "quarter":
        return (month // 100) * 10 + (month % 100 + 2) // 3
    if kind == "year":
        return month // 100
    assert period is not None
    return pd.Series(period.code, index=month.index, dtype=object)


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
    for kind, batch in _batches(periods):
        lo, hi = _month_bounds(batch)
        rows = base[(base["month"] >= lo) & (base["month"] <= hi)]
        if rows.empty:
            continue
        table = pd.DataFrame(
            {
                "org": _group_column(rows, scope).array,
                "pkey": _key_series(rows["month"], kind, batch[0]).to_numpy(),
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
            frames.append(_coded(pd.concat(out, axis=1), kind, wanted))
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
                    "pkey": _key_series(keys["month"], kind, batch[0]).to_numpy(),
                    "key": keys["key"].array,
                }
            ).drop_duplicates()
            got = (
                pairs.groupby(["org", "pkey"], observed=True, sort=False)
                .size()
                .astype(float)
                .rename(p.id)
            )
            frames.append(_coded(got.to_frame(), kind, wanted))
    filled = [f for f in frames if not f.empty]
    if not filled:
        return pd.DataFrame(
            columns=list(unique),
            index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
            dtype=float,
        )
    out_frame = pd.concat(filled, axis=0).groupby(level=["org", "period"]).sum(min_count=1)
    return out_frame.reindex(columns=list(unique)).fillna(0.0)


def _coded(frame: pd.DataFrame, kind: str, wanted: set[str]) -> pd.DataFrame:
    """(org, pkey) index → (org, period code), keeping the periods asked for."""
    orgs = frame.index.get_level_values(0).astype(str)
    keys = frame.index.get_level_values(1)
    codes = keys.astype(str) if kind == "years" else keys.map(lambda k: _period_code(k, kind))
    frame = frame.set_axis(pd.MultiIndex.from_arrays([orgs, codes], names=["org", "period"]))
    return frame[frame.index.get_level_values("period").isin(wanted)]
