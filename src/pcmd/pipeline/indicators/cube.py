"""The monthly cube: the programmes' measures per org unit and month, built and kept up to date.

`activity_cube` holds, for every commune-month with at least one counted record, the value of
every additive measure of the active programmes (model.Measure: records of a form matching
a filter, or the sum of a field), and the same sums for every province-month and country-month
(level "province", "country"). Slot `vNN` holds the measure the slot map assigns to it; the map
is kept in the pipeline's cursor, and when it changes the cube is rebuilt. A commune-month
belongs to the province recorded in its fact rows. Reading it: cube_read.py, cube_memory.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

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

from pcmd.db.chunks import chunks
from pcmd.db.facts import ACTIVITY_CUBE, CUBE_SLOTS, FACT_TABLES, fact_column
from pcmd.db.one_of import one_of
from pcmd.errors import PipelineError
from pcmd.pipeline.indicators.model import Condition, Measure

CUBE = ACTIVITY_CUBE
ORG_CHUNK = 900  # codes per IN (...): well under SQLite's and PostgreSQL's parameter limits
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
            dialect = conn.dialect.name
            branch = branch.where(
                one_of(dialect, table.c.commune_code, communes),
                one_of(dialect, table.c.month, months),
            )
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
    for batch in chunks(sorted(by_commune), ORG_CHUNK):
        months = sorted(set().union(*(by_commune[c] for c in batch)))
        all_months.update(months)
        conn.execute(
            delete(CUBE).where(
                CUBE.c.level == "commune",
                one_of(conn.dialect.name, CUBE.c.org_code, batch),
                one_of(conn.dialect.name, CUBE.c.month, months),
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


def facts_print(conn: Connection, slots: SlotMap) -> list[Any]:
    """What the cube was built from, cheaply: per fact table its rows, and sums of their
    submission ids, version ids and months (normalisation replaces a submission's rows when
    its version or whether it counts changes); and the cube's own rows and country totals.
    A full recompute rebuilds the cube only when this moved since the run that left it."""
    out: list[Any] = []
    for form_id, table in sorted(FACT_TABLES.items()):
        row = fetch(
            conn,
            select(
                func.count(),
                func.sum(table.c.submission_id),
                func.sum(table.c.version_id),
                func.sum(table.c.month),
            ),
        )[0]
        out.append([form_id, *(int(v or 0) for v in row)])
    used = sorted(set(slots.values()))
    count = fetch(conn, select(func.count()).select_from(CUBE))[0][0]
    totals = (
        fetch(
            conn,
            select(*(func.sum(CUBE.c[col]) for col in used)).where(CUBE.c.level == "country"),
        )[0]
        if used
        else ()
    )
    out.append(["cube", int(count), [round(float(v or 0), 6) for v in totals]])
    return out


def fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """Rows as plain tuples straight from the driver: reductions return codes and numbers,
    which need no conversion, and building SQLAlchemy rows would cost more than the query."""
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
