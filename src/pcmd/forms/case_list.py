"""The `cases` entity list read from the database: each counted case of some communes, its
counted steps, and its state folded from them (forms/entities.py).

A case counts while its registration is neither deleted nor rejected; a step counts likewise,
and only in its case's commune. Read at each request, so the list is always current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, select

from pcmd.db.tables import CASE_STEPS, CASES, SUB
from pcmd.forms.entities import CaseRow, Step, fold


@dataclass(frozen=True)
class CaseView:
    row: CaseRow
    steps: tuple[Step, ...]  # counted, in step_date order (ties: order received)

    def days_left(self, today: dt.date) -> int | None:
        """Days to the deadline (negative: overdue); None once handled or without a date."""
        if self.row.state.handled_date is not None or self.row.state.deadline is None:
            return None
        return (self.row.state.deadline - today).days


def load_cases(conn: Connection, communes: Collection[str] | None = None) -> list[CaseView]:
    """Every counted case of `communes` (None or empty: all), newest first."""
    query = (
        select(CASES)
        .join(SUB, SUB.c.id == CASES.c.submission_id)
        .where(SUB.c.deleted.is_(False), SUB.c.review_state != "rejected")
    )
    if communes:
        query = query.where(CASES.c.commune_code.in_(sorted(communes)))
    cases = conn.execute(query).all()
    if not cases:
        return []
    refs: dict[str, int] = {}
    for case in cases:
        refs[case.entity_id] = case.id
        if case.alias:
            refs[case.alias] = case.id
    steps: dict[int, list[Step]] = {}
    rows = conn.execute(
        select(CASE_STEPS, SUB.c.deleted, SUB.c.review_state)
        .join(SUB, SUB.c.id == CASE_STEPS.c.submission_id)
        .where(CASE_STEPS.c.entity_ref.in_(sorted(refs)))
    ).all()
    commune_of = {c.id: c.commune_code for c in cases}
    for step in rows:
        case_id = refs[step.entity_ref]
        if step.commune_code != commune_of[case_id]:
            continue  # a step counts only in its case's commune
        if step.deleted or step.review_state == "rejected":
            continue  # its rejection or deletion moved the case's version on (cases.touch)
        steps.setdefault(case_id, []).append(Step(step.step, step.step_date, step.seq))
    out = []
    for case in cases:
        own = sorted(steps.get(case.id, []), key=lambda s: (s.step_date or dt.date.max, s.seq))
        row = CaseRow(
            entity_id=case.entity_id,
            label=case.label,
            version=case.version,
            received_date=case.received_date,
            commune=case.commune_code,
            kind=case.kind,
            state=fold(case.received_date, own),
        )
        out.append(CaseView(row, tuple(own)))
    out.sort(key=lambda v: (v.row.received_date or dt.date.min, v.row.entity_id), reverse=True)
    return out
