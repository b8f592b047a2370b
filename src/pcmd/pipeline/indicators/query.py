"""Reading indicator values: `pcmd indicators` and GET /api/v1/indicators (DESIGN §8).

The values of the periods the pipeline stores (run.py) are read from `indicator_values`, and a
unit without a stored row had no counted record, so its values come from its denominators and
targets alone; any other period — a commune's month or quarter, `2022-2024`, … — is computed on
demand from the same cube by the same engine, so both agree. Either way they reflect the last
pipeline run. Pages and exports read values through `indicator_rows`, not the table.

Rows are dicts with exactly the keys of DESIGN §8, numbers as JSON numbers: a numerator and a
denominator that are whole numbers are integers, a percent value has one decimal, a count's
value is its numerator, targets are numbers with a decimal point.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from pcmd.db.tables import IV
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import parse_period, vietnam_today
from pcmd.masterdata.tree import OrgTree, load_tree
from pcmd.pipeline.cells import compute_cells, is_stored, levels_of
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators import engine as indicators
from pcmd.pipeline.indicators.drill import drill_down
from pcmd.pipeline.indicators.model import Programme
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.pipeline.inputs import load_context
from pcmd.pipeline.programmes import active_programmes
from pcmd.pipeline.state import load_state

JSON_KEYS = (
    "indicator",
    "org_unit",
    "period",
    "numerator",
    "denominator",
    "value",
    "unit",
    "target",
    "status",
)
LEVELS = ("country", "province", "commune")


def _number(value: Any) -> int | float | None:
    """A whole number as an int, anything else as a float, NaN/None as None."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() else number


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _row(unit: str, indicator: str, org: str, period: str, values: Any) -> dict[str, Any]:
    numerator, denominator, value, target, status = values
    return {
        "indicator": indicator,
        "org_unit": org,
        "period": period,
        "numerator": _number(numerator),
        "denominator": _number(denominator),
        "value": _number(value) if unit == "count" else _float(value),
        "unit": unit,
        "target": _float(target),
        "status": status,
    }


def indicator_rows(
    engine: Engine | Connection,
    *,
    period: str,
    org: str = "VN",
    level: str | None = None,
    programme: str = DEFAULT_PROGRAMME,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """One row per indicator × org unit of `level` under `org` (default: `org` itself), for
    `period`, ordered by org unit code and the programme's indicator order."""
    if isinstance(engine, Connection):
        return _rows(engine, period, org, level, programme, today)
    with engine.connect() as conn:
        return _rows(conn, period, org, level, programme, today)


def _rows(
    conn: Connection,
    period_code: str,
    org: str,
    level: str | None,
    programme_id: str,
    today: dt.date | None,
) -> list[dict[str, Any]]:
    period = parse_period(period_code)
    state = load_state(conn)
    if state is None:
        raise PipelineError(
            "Chưa tính chỉ tiêu lần nào; chỉ tiêu được tính khi máy chủ nhận phiếu và bộ lập "
            "lịch đang chạy (the indicators have not been computed yet: they are computed once "
            "records arrive, while the server's scheduler runs)."
        )
    programmes = active_programmes(conn)
    programme = programmes.get(programme_id)
    if programme is None:
        raise PipelineError(
            f"Không có chương trình {programme_id!r} (no programme {programme_id!r}); "
            f"active: {', '.join(programmes)}."
        )
    tree = load_tree(conn)
    if org not in tree.level:
        raise PipelineError(
            f"Không có đơn vị {org!r} đang hiệu lực (no org unit {org!r} in force). Fix: a "
            "province is a 2-digit code (51), a commune 5 digits (21025), the country VN."
        )
    own_level = tree.level[org]
    level = level or own_level
    if level not in LEVELS:
        raise PipelineError(f"Cấp {level!r} không có (no level {level!r}); use {LEVELS}.")
    if LEVELS.index(level) < LEVELS.index(own_level):
        raise PipelineError(
            f"{org} là cấp {own_level}, không có cấp {level} bên dưới (org {org} is a "
            f"{own_level}; there is no {level} under it)."
        )
    if org != programme.org and programme.org not in tree.ancestors(org):
        raise PipelineError(
            f"Chương trình {programme.id} chỉ tính cho {programme.org} (programme "
            f"{programme.id} covers {programme.org} and the units under it), not {org}."
        )
    covered = set(levels_of(programme, tree).get(level, []))
    units = [u for u in tree.under(org, level) if u in covered]
    if not units:
        return []
    stored = (
        period.code in state.get("periods", {}).get(programme.id, [])
        and is_stored(level, period)
        and state.get("programmes", {}).get(programme.id) == programme.digest
    )
    ids = [ind.id for ind in programme.indicators]
    units_of = {ind.id: ind.unit for ind in programme.indicators}
    if stored:
        found = _stored(conn, programme, period.code, units)
        with_rows = {o for o, _ind in found}
        if all((o, ind) in found for o in with_rows for ind in ids):
            # Units without rows had no counted record in the period (run.py stores only
            # cells with data): every numerator is 0, the rest comes from the denominators.
            empty = [u for u in units if u not in with_rows]
            if empty:
                ctx = load_context(conn, tree, today or vietnam_today())
                frame = indicators.compute(
                    programme,
                    [(u, period.code) for u in empty],
                    indicators.no_quantities(),
                    ctx,
                )
                for r in frame.itertuples(index=False):
                    found[(r.org_code, r.indicator)] = (
                        r.numerator,
                        r.denominator,
                        r.value,
                        r.target,
                        r.status,
                    )
            return [
                _row(units_of[ind], ind, o, period.code, found[(o, ind)])
                for o in units
                for ind in ids
            ]
    return _on_demand(conn, programme, state, tree, level, period.code, units, today)


def _stored(
    conn: Connection, programme: Programme, period: str, units: Sequence[str]
) -> dict[tuple[str, str], tuple[Any, ...]]:
    found: dict[tuple[str, str], tuple[Any, ...]] = {}
    for start in range(0, len(units), 900):
        rows = conn.execute(
            select(
                IV.c.org_code,
                IV.c.indicator,
                IV.c.numerator,
                IV.c.denominator,
                IV.c.value,
                IV.c.target,
                IV.c.status,
            ).where(
                IV.c.programme == programme.id,
                IV.c.period == period,
                IV.c.org_code.in_(units[start : start + 900]),
            )
        )
        for r in rows:
            found[(r.org_code, r.indicator)] = (
                r.numerator,
                r.denominator,
                r.value,
                r.target,
                r.status,
            )
    return found


def _on_demand(
    conn: Connection,
    programme: Programme,
    state: dict[str, Any],
    tree: OrgTree,
    level: str,
    period_code: str,
    units: Sequence[str],
    today: dt.date | None,
) -> list[dict[str, Any]]:
    slots: cube.SlotMap = state.get("slots", {})
    if any(m.key not in slots for m in programme.measures()):
        raise PipelineError(
            f"Chương trình {programme.id} chưa được tính (programme {programme.id} has not been "
            "computed yet). Fix: run `pcmd pipeline run`."
        )
    day = today or vietnam_today()
    ctx = load_context(conn, tree, day)
    frame = compute_cells(
        conn, programme, slots, tree, ctx, level, [parse_period(period_code)], list(units)
    ).frame()
    order = {ind.id: i for i, ind in enumerate(programme.indicators)}
    units_of = {ind.id: ind.unit for ind in programme.indicators}
    frame = frame.assign(_o=frame["indicator"].map(order)).sort_values(["org_code", "_o"])
    return [
        _row(
            units_of[r.indicator],
            r.indicator,
            r.org_code,
            r.period,
            (r.numerator, r.denominator, r.value, r.target, r.status),
        )
        for r in frame.itertuples(index=False)
    ]


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: r[k] for k in JSON_KEYS} for r in rows], ensure_ascii=False)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(JSON_KEYS)
    for r in rows:
        writer.writerow(["" if r[k] is None else r[k] for k in JSON_KEYS])
    return out.getvalue()


def submission_ids(
    engine: Engine | Connection,
    *,
    indicator: str,
    period: str,
    org: str = "VN",
    programme: str = DEFAULT_PROGRAMME,
) -> list[int]:
    """The counted submissions behind an indicator's numerator for one org unit and period
    (drill.py: for a sum, those with a value other than 0; for KT1, one per establishment)."""
    if isinstance(engine, Connection):
        return _submission_ids(engine, indicator, period, org, programme)
    with engine.connect() as conn:
        return _submission_ids(conn, indicator, period, org, programme)


def _submission_ids(
    conn: Connection, indicator_id: str, period_code: str, org: str, programme_id: str
) -> list[int]:
    found = drill_down(
        conn, indicator=indicator_id, period=period_code, org=org, programme=programme_id
    )
    return found.ids
