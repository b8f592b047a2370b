"""The cells of `indicator_values`: which periods and org units are stored, computing the values
of cells, and writing and deleting them.

Stored values (`indicator_values`): for each programme, every month, quarter and year from the
first year of its period up to today, and its period itself, for the country and its provinces
(or the plan's province); for the communes, their years and the programme period — and only
the cells that have at least one counted record. A cell without any has every numerator 0 and
its values follow from the denominators and targets alone: query.py computes it on reading, as
it computes any period that is not stored (a commune's month or quarter, `2022-2024`), from the
same cube with the same engine. (All cells of all common periods would be 3,321 communes × 103
periods × 15 indicators, 5 million rows for the country, nine tenths of them communes' months
and quarters; SQLite writes about 250,000 rows a second.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from pcmd.db.facts import FACT_FIELDS
from pcmd.masterdata.periods import Period, months_between, parse_period
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators import engine as indicators
from pcmd.pipeline.indicators.cube_memory import Loaded
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.engine import Context
from pcmd.pipeline.indicators.model import Indicator, Part, Programme
from pcmd.pipeline.indicators.quantities import quantities as read_quantities

IV_COLUMNS = (
    "programme",
    "indicator",
    "org_code",
    "period",
    "numerator",
    "denominator",
    "value",
    "target",
    "status",
    "computed_at",
)


def stored_periods(programme: Programme, today: dt.date) -> list[Period]:
    """Months, quarters and years from the first year of the programme period up to today,
    and the programme period itself once it has begun."""
    period = parse_period(programme.period)
    start = dt.date(period.start.year, 1, 1)
    if today < start:
        return []
    months = [parse_period(m) for m in months_between(start, today)]
    quarters = sorted(
        {parse_period(f"{m.code[:4]}Q{(int(m.code[4:]) - 1) // 3 + 1}").code for m in months}
    )
    years = sorted({m.code[:4] for m in months})
    out = [*months, *(parse_period(q) for q in quarters), *(parse_period(y) for y in years)]
    if period.start <= today and period.kind == "years":
        out.append(period)
    return out


def levels_of(programme: Programme, tree: OrgTree) -> dict[str, list[str]]:
    """The org units of each level the programme covers."""
    root = programme.org
    root_level = tree.level.get(root, "country")
    out: dict[str, list[str]] = {}
    if root_level == "country":
        out["country"] = [root]
    out["province"] = tree.under(root, "province") if root_level != "commune" else []
    out["commune"] = tree.under(root, "commune")
    return {k: v for k, v in out.items() if v}


def is_stored(level: str, period: Period) -> bool:
    """Communes keep their years and the programme period; their months and quarters, like
    any period not stored, are computed on reading (query.py)."""
    return level != "commune" or period.kind in ("year", "years")


# Any counted record at all: a cell without one has every numerator 0, so it is not stored
# and query.py computes it from denominators and targets alone.
PRESENCE = Part("records", forms=tuple(FACT_FIELDS))


def compute_cells(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    level: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    chosen: Sequence[Indicator] | None = None,
    *,
    with_data_only: bool = False,
    cells: Sequence[tuple[str, str]] | None = None,
    loaded: Loaded | None = None,
    memo: dict[Any, Any] | None = None,
) -> indicators.Values:
    """The values of the programme (or `chosen` indicators) for `orgs` of `level` (None: all
    the programme covers) × `periods` — or only the `cells` (org, period) among them; with
    `with_data_only`, only the cells that have at least one counted record."""
    inds = list(chosen if chosen is not None else programme.indicators)
    found, quantities = cell_quantities(
        conn,
        programme,
        slots,
        tree,
        ctx,
        level,
        periods,
        orgs,
        inds,
        with_data_only=with_data_only,
        cells=cells,
        loaded=loaded,
        memo=memo,
    )
    return indicators.compute_values(programme, found, quantities, ctx, inds)


def cell_quantities(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    level: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    inds: Sequence[Indicator],
    *,
    with_data_only: bool = False,
    cells: Sequence[tuple[str, str]] | None = None,
    loaded: Loaded | None = None,
    memo: dict[Any, Any] | None = None,
) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """What compute_cells computes the values from: the cells (as it describes them) and
    the quantities of the indicators' parts, indexed by (org, period)."""
    units = levels_of(programme, tree).get(level, [])
    if orgs is not None:
        wanted = set(orgs)
        units = [u for u in units if u in wanted]
    if not units or not periods:
        return [], indicators.no_quantities()
    parts = [PRESENCE, *(p for ind in inds for p in ind.parts())]
    root_level = tree.level.get(programme.org, "country")
    scope = Scope(level, programme.org, root_level, None if orgs is None else units)
    quantities = read_quantities(conn, parts, slots, scope, periods, ctx.today, memo, loaded)
    if cells is None:
        cells = [(u, p.code) for u in units for p in periods]
    if with_data_only:
        # a cell with records of its own months, or of the months its parts read for
        # another period (a year earlier, the period's last year)
        present = set(quantities.index[(quantities > 0).any(axis=1)])
        cells = [c for c in cells if c in present]
    return list(cells), quantities


def _nullable(values: Any) -> list[Any]:
    """Floats with NaN as None, as Python objects (vectorised: this runs on every row)."""
    array = np.asarray(values, dtype=float)
    out = array.astype(object)
    out[np.isnan(array)] = None
    return list(out.tolist())


def to_records(
    values: indicators.Values,
    programme: str,
    now: dt.datetime,
    keep: np.ndarray | None = None,
) -> list[tuple[Any, ...]]:
    """Rows for indicator_values in key order (period, org, indicator): inserting in the
    order of the unique index keeps SQLite's b-tree appends sequential. With `keep`
    ((indicators, cells) booleans), only those values."""
    n, k = len(values.orgs), len(values.indicators)
    if n == 0 or k == 0:
        return []
    cells = np.lexsort((values.orgs.astype(str), values.periods.astype(str)))
    inds = np.argsort(np.array(values.indicators))

    chosen = None if keep is None else np.flatnonzero(keep[np.ix_(inds, cells)].T.ravel())

    def block(array: np.ndarray) -> np.ndarray:
        # (indicators, cells) → cell by cell, the indicators of each cell in a row; only the
        # values kept
        flat = np.asarray(array[np.ix_(inds, cells)].T.ravel())
        return flat if chosen is None else flat[chosen]

    total = n * k if chosen is None else len(chosen)
    return list(
        zip(
            [programme] * total,
            block(
                np.repeat(np.array(values.indicators, dtype=object)[:, None], n, axis=1)
            ).tolist(),
            block(np.broadcast_to(values.orgs[None, :], (k, n))).tolist(),
            block(np.broadcast_to(values.periods[None, :], (k, n))).tolist(),
            _nullable(block(values.numerator)),
            _nullable(block(values.denominator)),
            _nullable(block(values.value)),
            _nullable(block(values.target)),
            block(values.status).tolist(),
            [now] * total,
            strict=True,
        )
    )


def write_values(conn: Connection, records: list[tuple[Any, ...]]) -> int:
    """Insert indicator rows fast: executemany on SQLite, COPY on PostgreSQL. The programme
    and the time are the same for every row of one call (the last two fields)."""
    if not records:
        return 0
    programme, now = records[0][0], records[0][-1]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        copy_sql = f"COPY indicator_values ({', '.join(IV_COLUMNS)}) FROM STDIN"
        with cast(Any, dbapi).cursor() as cur, cur.copy(copy_sql) as copy:
            for rec in records:
                copy.write_row(rec)
        return len(records)
    # SQLite keeps DateTime as text, written the way SQLAlchemy reads it back. Constants go in
    # the statement, so each row binds only its own eight values.
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    sql = (
        f"INSERT INTO indicator_values ({', '.join(IV_COLUMNS)}) VALUES "  # noqa: S608 - quoted
        f"({sql_text(programme)}, ?, ?, ?, ?, ?, ?, ?, ?, {sql_text(stamp)})"
    )
    cur = cast(Any, dbapi).cursor()
    try:
        cur.executemany(sql, (rec[1:-1] for rec in records))
    finally:
        cur.close()
    return len(records)


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
