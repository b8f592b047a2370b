"""An indicator's drill-down: exactly the counted records behind its numerator, and what the
list is, said in words.

Which records a numerator part stands on follows from its kind (`lists`), so every indicator
of every programme file gets a drill-down that agrees with its number:

- records: every counted record matching the part — one row per unit of the numerator;
- sum: the records with a value other than 0 in a summed field — their values add up to it;
- communes_with / months_with: the records that put a commune (a month) in the count;
- distinct: one record per distinct value (KT1: per establishment of the register), the
  latest in the period — as many rows as the numerator, never every inspection;
- deadline: the cases the count takes on the period's reference day (by_day.py's rule).
A part's own period (`period = "last_year"`) and its ended months (`months = "ended"`) are
read as the engine reads them (part_periods.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from pcmd.db.facts import FACT_TABLES, fact_column
from pcmd.db.tables import EST
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import Period, parse_period, vietnam_today
from pcmd.masterdata.tree import load_tree
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators.by_day import counted_on
from pcmd.pipeline.indicators.model import Indicator, Part
from pcmd.pipeline.indicators.part_periods import shifted, window
from pcmd.pipeline.programmes import active_programmes

# A numerator part's kind → which of its records the drill-down lists.
LISTS: dict[str, str] = {
    "records": "records",
    "sum": "with_value",
    "communes_with": "communes",
    "months_with": "months",
    "distinct": "one_per_value",
    "deadline": "judged",
}
# What a drill-down lists, by `lists`: (Vietnamese, English).
WHAT: dict[str, tuple[str, str]] = {
    "records": (
        "các phiếu được tính vào tử số, mỗi phiếu một đơn vị",
        "the counted records of the numerator, one each",
    ),
    "with_value": (
        "các phiếu có số liệu khác 0 được cộng vào tử số",
        "the records whose non-zero figures add up to the numerator",
    ),
    "communes": (
        "các phiếu của những xã, phường được tính (tử số là số xã, phường)",
        "the records of the communes counted (the numerator counts communes)",
    ),
    "months": (
        "các phiếu của những tháng được tính (tử số là số tháng)",
        "the records of the months counted (the numerator counts months)",
    ),
    "judged": (
        "các vụ việc được tính theo thời hạn xử lý, xét vào ngày cuối kỳ (hoặc hôm nay)",
        "the cases counted by their deadline, judged on the period's last day (or today)",
    ),
    "one_per_value": (
        "mỗi {vi} một phiếu — phiếu gần nhất trong kỳ (tử số là số {vi})",
        "one record per {en} — the latest in the period (the numerator counts {en}s)",
    ),
}
# What a distinct part counts, by its field: (Vietnamese, English).
COUNTED: dict[str, tuple[str, str]] = {
    "establishment/id": ("cơ sở", "establishment"),
    "uic/key": ("người", "person"),
}


def lists(part: Part) -> str:
    """Which records a drill-down of `part` lists (a key of WHAT), derived from its kind."""
    return LISTS.get(part.kind, "records")


@dataclass(frozen=True)
class DrillDown:
    """The submissions behind one indicator's numerator for one unit and period."""

    ids: list[int]
    what_vi: str
    what_en: str


def describe(ind: Indicator) -> tuple[str, str]:
    """What the drill-down of `ind` lists, in Vietnamese and English."""
    said: list[tuple[str, str]] = []
    for part in ind.numerator:
        vi, en = WHAT[lists(part)]
        noun = COUNTED.get(part.field or "", ("đối tượng", "item"))
        said.append((vi.format(vi=noun[0]), en.format(en=noun[1])))
    unique = list(dict.fromkeys(said))
    return "; ".join(v for v, _ in unique), "; ".join(e for _, e in unique)


def drill_down(
    conn: Connection,
    *,
    indicator: str,
    period: str,
    org: str,
    programme: str,
    today: dt.date | None = None,
) -> DrillDown:
    """The counted submissions behind `indicator`'s numerator for `org` and `period` (as of
    `today`, for parts counted on the day: deadlines, ended months)."""
    programmes = active_programmes(conn)
    if programme not in programmes:
        raise PipelineError(f"Không có chương trình {programme!r} (no programme).")
    ind = programmes[programme].indicator(indicator)
    tree = load_tree(conn)
    level = tree.level.get(org)
    if level is None:
        raise PipelineError(f"Không có đơn vị {org!r} đang hiệu lực (no org unit {org!r}).")
    day = today or vietnam_today()
    ids: set[int] = set()
    for part in ind.numerator:
        # a part may read another period (KH1: the year of the period's end)
        read = shifted(parse_period(period), part.period)
        if read is None:
            continue
        ids.update(_part_ids(conn, part, level, org, read, day))
    vi, en = describe(ind)
    return DrillDown(sorted(ids), vi, en)


def _part_ids(
    conn: Connection, part: Part, level: str, org: str, period: Period, today: dt.date
) -> set[int]:
    lo, hi = window(part, period, today)  # months = "ended": only the months already over
    ids: set[int] = set()
    for form in part.forms:
        table = FACT_TABLES[form]
        conds: list[ColumnElement[bool]] = [table.c.month.between(lo, hi)]
        if level == "commune":
            conds.append(table.c.commune_code == org)
        elif level == "province":
            conds.append(table.c.province_code == org)
        where = cube.conditions(table, part.where)
        if where is not None:
            conds.append(where)
        if part.kind == "deadline":
            ids.update(_judged(conn, part, table, conds, min(period.end, today)))
            continue
        if lists(part) == "with_value":
            nonzero = [func.coalesce(table.c[fact_column(f)], 0) != 0 for f in part.fields]
            conds.append(or_(*nonzero))
        if lists(part) != "one_per_value" or not part.field:
            ids.update(conn.execute(select(table.c.submission_id).where(*conds)).scalars())
            continue
        col = table.c[fact_column(part.field)]
        conds.append(col.is_not(None))
        query = select(col, table.c.month, table.c.submission_id)
        if part.status:
            query = query.join(EST, and_(EST.c.id == col, EST.c.status == part.status))
        latest: dict[object, tuple[int, int]] = {}
        found: list[Any] = list(conn.execute(query.where(*conds)).all())
        for value, month, sid in found:
            key = (int(month), int(sid))
            if value not in latest or key > latest[value]:
                latest[value] = key
        ids.update(sid for _, sid in latest.values())
    return ids


def _judged(
    conn: Connection, part: Part, table: Any, conds: list[ColumnElement[bool]], day: dt.date
) -> set[int]:
    """The records of a deadline part its count takes on the reference day (by_day.py's rule:
    in time, due or overdue)."""
    query = select(table.c.submission_id, table.c.deadline, table.c.handled_date).where(*conds)
    rows = pd.DataFrame(
        list(conn.execute(query).all()), columns=["submission_id", "deadline", "handled_date"]
    )
    for name in ("deadline", "handled_date"):
        rows[name] = pd.to_datetime(rows[name].astype(object), errors="coerce")
    chosen = rows[counted_on(rows, part, day)]
    return {int(sid) for sid in chosen["submission_id"]}
