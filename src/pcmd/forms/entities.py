"""The `cases` entity list (DESIGN §6b): a case's state folded from its steps, and `cases.csv`.

Pure functions. A case's status is its last step's name in `step_date` order (ties: the order
received), so a step made offline and sent late lands in its place; its deadline is
`received_date` + 20 days, or + 2 calendar months (clamped to the month's end) when a `gia_han`
step is dated within those 20 days; its handled date is the earliest `xu_ly_xong` or `chuyen`.
The CSV has the columns Central serves for an entity list: `name`, `label`, `__version`, then
the properties (reference/odk-entities-odata.md §A5).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from pcmd.forms import contract
from pcmd.forms.media import MediaFile

CASES_CSV = f"{contract.CASES_LIST}.csv"
HEADER = ("name", "label", "__version", *contract.CASE_PROPERTIES)
DAYS_TO_HANDLE = 20
EXTENSION_MONTHS = 2


def case_key(text: str) -> str:
    """An entity id as the list keeps it: bare (no `uuid:`), lower-case."""
    return text.strip().removeprefix("uuid:").lower()


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus calendar months, clamped to the month's end (31 Dec + 2 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Step:
    step: str | None
    step_date: dt.date | None
    seq: int  # order received


@dataclass(frozen=True)
class CaseState:
    status: str
    deadline: dt.date | None
    handled_date: dt.date | None


def fold(received: dt.date | None, steps: Iterable[Step]) -> CaseState:
    """The case's state after its (counted) steps, whatever order they arrived in."""
    dated = sorted(
        (s for s in steps if s.step_date is not None), key=lambda s: (s.step_date, s.seq)
    )
    status = contract.STATUS_RECEIVED
    handled: dt.date | None = None
    extended = False
    limit = received + dt.timedelta(days=DAYS_TO_HANDLE) if received else None
    for step in dated:
        assert step.step_date is not None
        if step.step:
            status = step.step
        if step.step == contract.STEP_EXTEND and limit is not None and step.step_date <= limit:
            extended = True
        if step.step in contract.HANDLED_STEPS and handled is None:
            handled = step.step_date
    deadline = limit
    if received is not None and extended:
        deadline = add_months(received, EXTENSION_MONTHS)
    return CaseState(status, deadline, handled)


@dataclass(frozen=True)
class CaseRow:
    entity_id: str
    label: str
    version: int
    received_date: dt.date | None
    commune: str | None
    kind: str | None
    state: CaseState


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def cases_csv(rows: Iterable[CaseRow]) -> MediaFile:
    """`cases.csv`, newest case first (as Central lists entities)."""
    ordered = sorted(
        rows, key=lambda r: (r.received_date or dt.date.min, r.entity_id), reverse=True
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for r in ordered:
        writer.writerow(
            (
                r.entity_id,
                r.label,
                r.version,
                _day(r.received_date),
                r.commune or "",
                r.kind or "",
                _day(r.state.deadline),
                r.state.status,
                _day(r.state.handled_date),
            )
        )
    return MediaFile(CASES_CSV, buf.getvalue().encode("utf-8"))
