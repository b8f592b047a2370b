"""The monthly cube: the programmes' measures per commune and month, and reductions over it.

`activity_cube` holds, for every commune-month with at least one counted record, the value of
every additive measure of the active programmes (programme.Measure: records of a form matching
a filter, or the sum of a field). Slot `vNN` holds the measure the slot map assigns to it; the
map is kept in the pipeline's cursor, and when it changes the cube is rebuilt.

Every indicator quantity is a reduction of the cube (or, for distinct counts, of the fact rows)
over an org unit's communes and a period's months, done in SQL so that only small results reach
Python — the same queries for the full recompute, the incremental run and on-demand periods:

- records / sum: Σ of the part's slots;
- months_with: months of the period in which the unit's slots add up to more than 0;
- communes_with: communes of the unit whose slots, over the period, add up to more than 0;
- distinct: distinct values of a fact column (KT1: register ids, active in the register).

The unit of a commune-month is its commune and the province recorded in its fact rows; the
country is every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

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
    tuple_,
    union_all,
)

from pcmd.db.models import ACTIVITY_CUBE, CUBE_SLOTS, FACT_TABLES, Base, Establishment, fact_column
from pcmd.errors import PipelineError
from pcmd.pipeline.periods import Period
from pcmd.pipeline.programme import Condition, Measure, Part

CUBE = ACTIVITY_CUBE
EST = Base.metadata.tables[Establishment.__tablename__]
CELL_CHUNK = 400  # (commune, month) pairs per tuple IN (...): 800 parameters
ORG_CHUNK = 900

Level = str  # country | province | commune
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


def _cube_source(
    measures: Sequence[Measure], slots: SlotMap, cells: Sequence[tuple[str, int]] | None
) -> Select[Any]:
    """commune, month, province and every used slot, summed over the fact rows of `cells`
    (None: all)."""
    used = sorted({slots[m.key] for m in measures})
    branches = []
    for form_id, table in FACT_TABLES.items():
        exprs: dict[str, ColumnElement[Any]] = {}
        for m in measures:
            if m.form == form_id:
                expr = _measure_expr(table, m)
                col = slots[m.key]
                exprs[col] = exprs[col] + expr if col in exprs else expr
        branch = select(
            table.c.commune_code,
            table.c.month,
            table.c.province_code,
            *(exprs.get(col, literal(0)).label(col) for col in used),
        )
        if cells is not None:
            branch = branch.where(tuple_(table.c.commune_code, table.c.month).in_(cells))
        branches.append(branch)
    rows = union_all(*branches).subquery()
    return select(
        rows.c.commune_code,
        rows.c.month,
        func.max(rows.c.province_code),
        *(func.sum(rows.c[col]) for col in used),
    ).group_by(rows.c.commune_code, rows.c.month)


def _insert_cube(conn: Connection, source: Select[Any], slots: SlotMap) -> None:
    used = sorted(set(slots.values()))
    conn.execute(
        insert(CUBE).from_select(["commune_code", "month", "province_code", *used], source)
    )


def rebuild_cube(conn: Connection, measures: Sequence[Measure], slots: SlotMap) -> None:
    conn.execute(delete(CUBE))
    if measures:
        _insert_cube(conn, _cube_source(measures, slots, None), slots)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def update_cube(
    conn: Connection,
    measures: Sequence[Measure],
    slots: SlotMap,
    cells: Iterable[tuple[str, int]],
) -> None:
    """Recompute the cube rows of these commune-months from their fact rows."""
    pairs = sorted(set(cells))
    for chunk in _chunks(pairs, CELL_CHUNK):
        conn.execute(delete(CUBE).where(tuple_(CUBE.c.commune_code, CUBE.c.month).in_(chunk)))
        if measures:
            _insert_cube(conn, _cube_source(measures, slots, chunk), slots)


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
    the org units of that level it needs."""

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
        if self.level == "commune":
            return table.c.commune_code  # type: ignore[no-any-return]
        if self.level == "province":
            return table.c.province_code  # type: ignore[no-any-return]
        return literal(self.root)

    def filters(self, table: Any, orgs: Sequence[str] | None) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.root_level == "province":
            out.append(table.c.province_code == self.root)
        elif self.root_level == "commune":
            out.append(table.c.commune_code == self.root)
        if orgs is not None and self.level != "country":
            out.append(self.group(table).in_(orgs))
        return out

    def org_batches(self) -> Iterator[Sequence[str] | None]:
        if self.orgs is None or self.level == "country":
            yield None
            return
        yield from _chunks(list(self.orgs), ORG_CHUNK)


def _slot_sum(row: Any, part: Part, slots: SlotMap) -> ColumnElement[Any]:
    cols = sorted({slots[m.key] for m in part.measures()})
    expr: ColumnElement[Any] = row.c[cols[0]]
    for col in cols[1:]:
        expr = expr + row.c[col]
    return expr


def _additive(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
) -> list[tuple[Any, ...]]:
    lo, hi = _month_bounds(periods)
    key = _period_key(CUBE.c.month, kind) if kind != "years" else literal(periods[0].code)
    group = scope.group(CUBE)
    query = (
        select(
            group.label("org"),
            key.label("pkey"),
            *(func.sum(_slot_sum(CUBE, p, slots)).label(f"q{i}") for i, p in enumerate(parts)),
        )
        .where(CUBE.c.month.between(lo, hi), *scope.filters(CUBE, orgs))
        .group_by(group, key)
    )
    return fetch(conn, query)


def _presence(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    by: str,
) -> list[tuple[Any, ...]]:
    """Per (unit, period): how many months (by="month") or communes (by="commune_code") have
    the part's slots adding up to more than 0."""
    lo, hi = _month_bounds(periods)
    key = _period_key(CUBE.c.month, kind) if kind != "years" else literal(periods[0].code)
    group = scope.group(CUBE)
    inner = (
        select(
            group.label("org"),
            key.label("pkey"),
            *(func.sum(_slot_sum(CUBE, p, slots)).label(f"s{i}") for i, p in enumerate(parts)),
        )
        .where(CUBE.c.month.between(lo, hi), *scope.filters(CUBE, orgs))
        .group_by(group, key, CUBE.c[by])
        .subquery()
    )
    query = select(
        inner.c.org,
        inner.c.pkey,
        *(
            func.sum(case((inner.c[f"s{i}"] > 0, 1), else_=0)).label(f"q{i}")
            for i in range(len(parts))
        ),
    ).group_by(inner.c.org, inner.c.pkey)
    return fetch(conn, query)


def _distinct(
    conn: Connection,
    part: Part,
    scope: Scope,
    kind: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
) -> list[tuple[Any, ...]]:
    assert part.field is not None
    table = FACT_TABLES[part.forms[0]]
    lo, hi = _month_bounds(periods)
    key = _period_key(table.c.month, kind) if kind != "years" else literal(periods[0].code)
    group = scope.group(table)
    col = table.c[fact_column(part.field)]
    query = select(group.label("org"), key.label("pkey"), func.count(col.distinct()))
    if part.status is not None:
        # Only register ids whose establishment has that status now (KT1: active).
        query = query.join(EST, and_(EST.c.id == col, EST.c.status == part.status))
    conds = [table.c.month.between(lo, hi), col.is_not(None), *scope.filters(table, orgs)]
    where = conditions(table, part.where)
    if where is not None:
        conds.append(where)
    query = query.where(*conds).group_by(group, key)
    return fetch(conn, query)


def reduce(
    conn: Connection,
    parts: Sequence[Part],
    slots: SlotMap,
    scope: Scope,
    periods: Sequence[Period],
) -> pd.DataFrame:
    """Every part's quantity for the scope's org units × `periods`: a frame indexed by
    (org, period) with one column per part id. Units and periods without records are absent
    (their quantities are 0)."""
    unique: dict[str, Part] = {}
    for p in parts:
        if p.kind in ("records", "sum", "communes_with", "months_with", "distinct"):
            unique.setdefault(p.id, p)
    wanted = {p.code for p in periods}
    frames: list[pd.DataFrame] = []
    groups: dict[str, list[Part]] = {"additive": [], "months": [], "communes": []}
    for p in unique.values():
        if p.kind in ("records", "sum"):
            groups["additive"].append(p)
        elif p.kind == "months_with":
            groups["months"].append(p)
        elif p.kind == "communes_with":
            groups["communes"].append(p)
    for kind, batch in _batches(periods):
        for orgs in scope.org_batches():
            for name, members in groups.items():
                if not members:
                    continue
                if name == "additive":
                    rows = _additive(conn, members, slots, scope, kind, batch, orgs)
                else:
                    by = "month" if name == "months" else "commune_code"
                    rows = _presence(conn, members, slots, scope, kind, batch, orgs, by)
                frames.append(_frame(rows, [p.id for p in members], kind, wanted))
            for p in unique.values():
                if p.kind == "distinct":
                    rows = _distinct(conn, p, scope, kind, batch, orgs)
                    frames.append(_frame(rows, [p.id], kind, wanted))
    filled = [f for f in frames if not f.empty]
    if not filled:
        return pd.DataFrame(
            columns=list(unique),
            index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
            dtype=float,
        )
    # Each part's column comes from one query per (org, period); the sum only aligns them.
    out = pd.concat(filled, axis=0).groupby(level=["org", "period"]).sum(min_count=1)
    return out.reindex(columns=list(unique)).fillna(0.0)


def _frame(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[str], kind: str, wanted: set[str]
) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(
            columns=list(columns),
            index=pd.MultiIndex.from_tuples([], names=["org", "period"]),
            dtype=float,
        )
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
