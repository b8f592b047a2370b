"""The records of DESIGN §6b checked against what they refer to: a step in handling a case dated
before the case was received (CASE_001), a plan for a year outside 2021 – next year (PLAN_001).

Their dates against today and 2021 are the activity-date rules (dates.py); the four answers
of a support record's code never reach the server (ingest replaces them by its key), so their
limits are the form's constraints alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.forms.entities import case_key
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_date

FIRST_PLAN_YEAR = 2021  # Programme 1629 starts in 2021


@rule(
    "CASE_001",
    "error",
    ("Bước xử lý trước ngày tiếp nhận", "A step dated before the case was received"),
    (
        "[{field}] Ngày {value} trước ngày tiếp nhận vụ việc ({limit}). Cách sửa: "
        + EDIT_VI
        + " với ngày thực hiện bước này.",
        "[{field}] The date {value} is before the case was received ({limit}). Fix: "
        + EDIT_EN
        + " with the day this step was taken.",
    ),
)
def step_before_case(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.CASE_UPDATE:
        return
    ref = data.get(c.CASE_REF)
    day = as_date(data.get(c.STEP_DATE))
    received = ctx.lookups.cases.get(case_key(ref)) if isinstance(ref, str) else None
    if day is not None and received is not None and day < received:
        yield Finding(c.STEP_DATE, {"value": day.isoformat(), "limit": received.isoformat()})


@rule(
    "PLAN_001",
    "error",
    ("Năm kế hoạch ngoài khoảng cho phép", "Plan year out of range"),
    (
        "[{field}] Năm {value} không hợp lệ: kế hoạch chỉ cho các năm từ 2021 đến {limit}. "
        "Cách sửa: " + EDIT_VI + " với năm của kế hoạch.",
        "[{field}] The year {value} is not possible: plans are for 2021 to {limit}. Fix: "
        + EDIT_EN
        + " with the plan's year.",
    ),
)
def plan_year(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.PLAN:
        return
    year = data.get(c.PLAN_YEAR)
    if isinstance(year, int) and not isinstance(year, bool):
        latest = ctx.today.year + 1
        if not FIRST_PLAN_YEAR <= year <= latest:
            yield Finding(c.PLAN_YEAR, {"value": year, "limit": latest})
