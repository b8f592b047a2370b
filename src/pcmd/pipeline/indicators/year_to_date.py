"""Year to date (lũy kế từ đầu năm): a quarter's or month's indicators counted from 1 January to
the period's end and judged against the year's target (DESIGN §8b, last paragraph).

The year's values, computed on demand from the same cube by the same engine as query.py, with
two differences: the cube is summed over January to the period's last month only, and the day
the engine judges "months begun" or "deadline passed" by is the period's last day (or today, if
earlier), so 2026Q3 counts TT2's months January–September, TG1's reference day is 30
September, and BC2 the months ended by then (September's reports are due on 5 October: they
are judged in the next period). TP2 compares with the same span a year earlier
(part_periods.py). The year's own code keys the cell,
so its targets — imported for the year, else the programme's annual default — apply, and
reference denominators are the year's. Rows have the keys of query.py's rows; `period` is the
year-to-date span, e.g. `2026-01..2026-09`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from pcmd.errors import PipelineError
from pcmd.masterdata.periods import Period, parse_period, vietnam_today
from pcmd.masterdata.tree import load_tree
from pcmd.pipeline.cells import compute_cells, levels_of
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME
from pcmd.pipeline.indicators.query import _row as row_of
from pcmd.pipeline.inputs import load_context
from pcmd.pipeline.programmes import active_programmes
from pcmd.pipeline.state import load_state

YTD_KINDS = ("month", "quarter")


def year_to_date_span(period: Period) -> Period:
    """January 1 to the period's last day, keyed by the year's code (what the engine judges
    targets and reference years by)."""
    year = period.start.year
    return Period(str(year), "year", dt.date(year, 1, 1), period.end)


def span_label(period: Period) -> str:
    """`2026-01..2026-09` for 2026Q3: the months a year-to-date value covers."""
    return f"{period.start.year}-01..{period.end.year}-{period.end.month:02d}"


def year_to_date_rows(
    conn: Connection,
    *,
    period: str,
    org: str = "VN",
    level: str | None = None,
    programme: str = DEFAULT_PROGRAMME,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """One row per indicator × org unit (as query.indicator_rows) for the year to date of a
    quarter or month; an empty list for a year or a multi-year period (it is its own total)."""
    parsed = parse_period(period)
    if parsed.kind not in YTD_KINDS:
        return []
    state = load_state(conn)
    if state is None:
        return []
    programmes = active_programmes(conn)
    chosen = programmes.get(programme)
    if chosen is None:
        raise PipelineError(f"Không có chương trình {programme!r} (no programme {programme!r}).")
    slots: cube.SlotMap = state.get("slots", {})
    if any(m.key not in slots for m in chosen.measures()):
        return []
    tree = load_tree(conn)
    if org not in tree.level:
        raise PipelineError(f"Không có đơn vị {org!r} đang hiệu lực (no org unit {org!r}).")
    level = level or tree.level[org]
    covered = set(levels_of(chosen, tree).get(level, []))
    units = [u for u in tree.under(org, level) if u in covered]
    if not units:
        return []
    span = year_to_date_span(parsed)
    day = min(today or vietnam_today(), parsed.end)
    ctx = load_context(conn, tree, day)
    frame = compute_cells(conn, chosen, slots, tree, ctx, level, [span], units).frame()
    order = {ind.id: i for i, ind in enumerate(chosen.indicators)}
    units_of = {ind.id: ind.unit for ind in chosen.indicators}
    frame = frame.assign(_o=frame["indicator"].map(order)).sort_values(["org_code", "_o"])
    label = span_label(parsed)
    return [
        row_of(
            units_of[r.indicator],
            r.indicator,
            r.org_code,
            label,
            (r.numerator, r.denominator, r.value, r.target, r.status),
        )
        for r in frame.itertuples(index=False)
    ]
